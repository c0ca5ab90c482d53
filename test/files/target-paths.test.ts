/**
 * Two `files:` entries with one target path (docs/manifest.md): pack refuses the manifest (exit 2,
 * naming both entries) before writing a bundle; and unpack never overwrites within one run, even for a
 * bundle that holds such a pair (one made by an airgap that did not check, resealed here with a trusted key).
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StaticServer, resealBundle, runAirgap, runAirgapJson, startStaticServer, tempDir } from '../harness/index.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
let work: string;
let keys: string;
let upstream: StaticServer;

beforeAll(async () => {
  work = await tempDir('airgap-paths-');
  keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  await mkdir(join(work, 'up', 'v1'), { recursive: true });
  await mkdir(join(work, 'up', 'v2'), { recursive: true });
  await writeFile(join(work, 'up', 'v1', 'tool.txt'), 'one\n');
  await writeFile(join(work, 'up', 'v2', 'tool.txt'), 'two\n');
  upstream = await startStaticServer(join(work, 'up'));
});

afterAll(async () => {
  await upstream?.close();
});

const entry = (v: string, path: string) => `  - url: ${upstream.url}${v}/tool.txt\n    sha256: ${sha(v === 'v1' ? 'one\n' : 'two\n')}\n    path: ${path}\n`;
async function manifest(name: string, entries: string): Promise<string> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, `apiVersion: airgap/v1\nkind: Bundle\nname: ${name}\nfiles:\n${entries}`);
  return file;
}
const pack = (m: string, out: string) => runAirgapJson<{ bundle: string }>(['pack', m, '--out', join(work, out), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });

describe('one target path, two entries', () => {
  it('pack refuses the manifest (exit 2) naming both entries, and writes no bundle', async () => {
    const m = await manifest('clash', entry('v1', 'bin/') + entry('v2', 'bin/tool.txt'));
    const r = await runAirgap(['pack', m, '--out', join(work, 'out-clash'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });
    expect(r.stderr).toContain('files[0]');
    expect(r.stderr).toContain('files[1]');
    expect(r.stderr).toContain('bin/tool.txt');
    expect(r.exitCode).toBe(2);
    expect((await readdir(join(work, 'out-clash'))).filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('the same file named twice is one artifact, not a clash', async () => {
    const m = await manifest('twice', entry('v1', 'bin/') + entry('v1', 'bin/tool.txt'));
    const r = await pack(m, 'out-twice');
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('unpack of a bundle holding such a pair publishes the first and fails the second (exit 4), never overwriting', async () => {
    // Two bundles of one entry each, merged into one index and resealed with the trusted key.
    const a = await pack(await manifest('half-a', entry('v1', 'bin/')), 'out-a');
    const b = await pack(await manifest('half-b', entry('v2', 'bin/')), 'out-b');
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    const src = join(work, 'merged-src');
    for (const [i, bundle] of [a.json.bundle, b.json.bundle].entries()) {
      const dir = join(work, `x${i}`);
      await mkdir(dir);
      await execa('sh', ['-c', `cat "${bundle}"/part-* | tar -xf - -C "${dir}"`]);
    }
    await cp(join(work, 'x0'), src, { recursive: true });
    await cp(join(work, 'x1', 'blobs'), join(src, 'blobs'), { recursive: true });
    const i0 = JSON.parse(await readFile(join(work, 'x0', 'airgap-index.json'), 'utf8'));
    const i1 = JSON.parse(await readFile(join(work, 'x1', 'airgap-index.json'), 'utf8'));
    const merged = { ...i0, name: 'merged', artifacts: [...i0.artifacts, ...i1.artifacts], blobs: [...i0.blobs, ...i1.blobs] };
    await writeFile(join(src, 'airgap-index.json'), JSON.stringify(merged, null, 2) + '\n');
    const bundle = await resealBundle(src, join(work, 'merged'), join(keys, 'outside.key'), ['airgap-index.json', 'oci-layout', 'index.json', 'blobs'], 'merged');

    const mirror = join(work, 'mirror');
    const ledger = join(work, 'ledger.jsonl');
    const r = await runAirgapJson<{ counts: Record<string, number>; failures: { artifact: string; error: string }[] }>(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', ledger, '--concurrency', '1']);
    expect(r.exitCode).toBe(4);
    expect(r.json.counts).toEqual({ pushed: 1, failed: 1 });
    expect(r.json.failures[0].error).toContain('same target path');
    expect(await readFile(join(mirror, 'files', 'bin', 'tool.txt'), 'utf8')).toBe('one\n');
    const actions = (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.kind === 'file').map((x) => x.action);
    expect(actions).toEqual(['pushed', 'failed']);
  });

  it('an ftp:// url is refused (exit 2), not read as a local path', async () => {
    const m = await manifest('ftp', `  - url: ftp://127.0.0.1/pub/tool.txt\n`);
    const r = await runAirgap(['pack', m, '--out', join(work, 'out-ftp'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });
    expect(r.stderr).toContain('ftp:// is not supported');
    expect(r.exitCode).toBe(2);
  });
});
