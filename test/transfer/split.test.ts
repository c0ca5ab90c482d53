/**
 * Issue 14 "must show", re-split: `airgap split` cuts a bundle again (docs/transfer.md). The output
 * verifies, its parts are no larger than the new size, the index digest is the same, and unpacking it
 * gives the same mirror as the original. A tampered source is refused before anything is signed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, stat, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let work: string;
let keys: string;
let original: string;

/** What a mirror serves: every file, less airgap's own bookkeeping (`.airgap-ledger-id` names the ledger that wrote it, docs/ledger.md). */
async function tree(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (!rel && e.name.startsWith('.airgap-')) continue;
    if (e.isDirectory()) Object.assign(out, await tree(dir, r));
    else out[r] = sha256(await readFile(join(dir, r)));
  }
  return out;
}

beforeAll(async () => {
  work = await tempDir('airgap-split-');
  keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'dmz'])).exitCode).toBe(0);
  for (const [name, size] of [['a.bin', 900_000], ['b.bin', 700_000], ['c.txt', 1_000]] as const) await writeFile(join(work, name), randomBytes(size));
  const manifest = join(work, 'm.yaml');
  await writeFile(manifest, 'apiVersion: airgap/v1\nkind: Bundle\nname: resplit\nfiles:\n  - url: ./a.bin\n  - url: ./b.bin\n  - url: ./c.txt\n');
  const r = await runAirgapJson<{ bundle: string }>(['pack', manifest, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache'), '--chunk-size', '1MiB'], { cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  original = r.json.bundle;
});

describe('airgap split', () => {
  let cut: string;

  beforeAll(async () => {
    const r = await runAirgapJson<{ bundle: string; parts: number; index: string; recoveryFiles: number }>([
      'split', original, '--chunk-size', '300000', '--out', join(work, 'cut'), '--key', join(keys, 'dmz.key'), '--pub', join(keys, 'outside.pub'), '--recovery', '10%',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    cut = r.json.bundle;
    expect(r.json.parts).toBeGreaterThanOrEqual(6);
    expect(r.json.recoveryFiles).toBeGreaterThan(1);
  });

  it('parts are no larger than the new size and their concatenation is the same tar stream', async () => {
    const parts = (await readdir(cut)).filter((f) => /^part-\d+$/.test(f)).sort();
    for (const p of parts) expect((await stat(join(cut, p))).size).toBeLessThanOrEqual(300_000);
    const cat = async (dir: string) => String((await execa('sh', ['-c', 'cat part-* | sha256sum'], { cwd: dir })).stdout);
    expect(await cat(cut)).toBe(await cat(original));
  });

  it('has the same index digest, is signed by the new key, and verifies (sha256sum, minisign, par2, airgap)', async () => {
    const before = JSON.parse(await readFile(join(original, 'bundle.json'), 'utf8'));
    const after = JSON.parse(await readFile(join(cut, 'bundle.json'), 'utf8'));
    expect(after.index).toEqual(before.index);
    expect(after.name).toBe(before.name);
    expect(after.created).toBe(before.created);
    expect(after.split.from).toBe(sha256(await readFile(join(original, 'bundle.json'))));
    expect((await execa('sha256sum', ['-c', 'SHA256SUMS'], { cwd: cut, reject: false })).exitCode).toBe(0);
    expect((await execa('minisign', ['-Vm', 'bundle.json', '-p', join(keys, 'dmz.pub')], { cwd: cut, reject: false })).exitCode).toBe(0);
    expect((await execa('par2', ['verify', 'bundle.par2'], { cwd: cut, reject: false })).exitCode).toBe(0);
    const v = await runAirgap(['verify', cut, '--pub', join(keys, 'dmz.pub')]);
    expect(v.exitCode, v.stderr).toBe(0);
    const wrong = await runAirgap(['verify', cut, '--pub', join(keys, 'outside.pub')]);
    expect(wrong.exitCode).toBe(3);
  });

  it('unpack gives the same mirror as the original bundle', async () => {
    const m1 = join(work, 'mirror-original');
    const m2 = join(work, 'mirror-cut');
    const a = await runAirgap(['unpack', original, '--to', `dir:${m1}`, '--pub', join(keys, 'outside.pub'), '--ledger', join(work, 'l1.jsonl')]);
    expect(a.exitCode, a.stderr).toBe(0);
    const b = await runAirgap(['unpack', cut, '--to', `dir:${m2}`, '--pub', join(keys, 'dmz.pub'), '--ledger', join(work, 'l2.jsonl')]);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(await tree(m2)).toEqual(await tree(m1));
  });

  it('a tampered source is refused (exit 3) and nothing is written', async () => {
    const { cp } = await import('node:fs/promises');
    const bad = join(work, 'tampered', 'resplit-x');
    await cp(original, bad, { recursive: true });
    const fh = await open(join(bad, 'part-00001'), 'r+');
    await fh.write(Buffer.from('XX'), 0, 2, 5000);
    await fh.close();
    const out = join(work, 'cut-bad');
    const r = await runAirgap(['split', bad, '--chunk-size', '300000', '--out', out, '--key', join(keys, 'dmz.key'), '--pub', join(keys, 'outside.pub')]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('part-00001');
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('without --chunk-size or --media it is a usage error (exit 2)', async () => {
    const r = await runAirgap(['split', original, '--out', join(work, 'x'), '--key', join(keys, 'dmz.key'), '--pub', join(keys, 'outside.pub')]);
    expect(r.exitCode).toBe(2);
  });
});
