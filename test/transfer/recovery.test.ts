/**
 * Issue 14 "must show", recovery half: PAR2 recovery files beside the parts (docs/transfer.md). A bundle
 * of 10+ parts is damaged in every way the issue lists; `airgap verify` names the parts and says whether
 * they can be rebuilt, `airgap repair` rebuilds them byte-identical, and unpack works afterwards. Debian's
 * par2 and sha256sum check the same files independently.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, readFile, readdir, rm, stat, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { type PublicKey, assessDamage, damageText, readPublicKey, repairBundle } from '@airgap/bundle';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const CHUNK = 400_000;

let work: string;
let keys: string;
const files: Record<string, Buffer> = {};

async function packBundle(out: string, extra: string[], name = 'transfer'): Promise<string> {
  const manifest = join(work, `${name}.yaml`);
  await writeFile(manifest, `apiVersion: airgap/v1\nkind: Bundle\nname: ${name}\nfiles:\n${Object.keys(files).map((f) => `  - url: ./${f}\n    path: data/\n`).join('')}`);
  const r = await runAirgapJson<{ bundle: string }>(['pack', manifest, '--out', out, '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache'), ...extra], { cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.json.bundle;
}

async function copyBundle(src: string, name: string): Promise<string> {
  const dst = join(work, 'copies', name);
  await cp(src, dst, { recursive: true });
  return dst;
}

const partsOf = async (dir: string) => (await readdir(dir)).filter((f) => /^part-\d+$/.test(f)).sort();
const pub = () => ['--pub', join(keys, 'outside.pub')];

/** Flips 16 bytes mid-file; with `blockSize`, in the middle of the PAR2 block that holds the file's middle (one block damaged, not two across a boundary). */
async function flipMiddle(path: string, blockSize?: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const size = (await fh.stat()).size;
    const mid = Math.floor(size / 2);
    const at = blockSize ? Math.floor(mid / blockSize) * blockSize + Math.floor(blockSize / 2) : mid;
    const b = Buffer.alloc(16);
    await fh.read(b, 0, 16, at);
    for (let i = 0; i < 16; i++) b[i] ^= 0xff;
    await fh.write(b, 0, 16, at);
  } finally {
    await fh.close();
  }
}

async function mirrorFiles(mirror: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await readdir(join(mirror, 'files/data'))) out[f] = sha256(await readFile(join(mirror, 'files/data', f)));
  return out;
}

async function unpackInto(bundle: string, mirror: string) {
  return runAirgapJson(['unpack', bundle, '--to', `dir:${mirror}`, ...pub(), '--ledger', join(mirror + '.ledger.jsonl')]);
}

let trust: PublicKey[];
let b10: string;
let b20: string;

beforeAll(async () => {
  work = await tempDir('airgap-transfer-');
  keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  trust = [await readPublicKey(join(keys, 'outside.pub'))];
  for (const [name, size] of [['one.bin', 1_680_000], ['two.bin', 1_520_000], ['three.bin', 1_000_000], ['four.txt', 3_000]] as const) {
    files[name] = randomBytes(size);
    await writeFile(join(work, name), files[name]);
  }
  b10 = await packBundle(join(work, 'out10'), ['--chunk-size', String(CHUNK), '--recovery', '10%']);
  b20 = await packBundle(join(work, 'out20'), ['--chunk-size', String(CHUNK), '--recovery', '20%']);
});

describe('pack --recovery', () => {
  it('writes PAR2 files no larger than the chunk size, listed in bundle.json and SHA256SUMS', async () => {
    const parts = await partsOf(b10);
    expect(parts.length).toBeGreaterThanOrEqual(10);
    const d = JSON.parse(await readFile(join(b10, 'bundle.json'), 'utf8'));
    expect(d.recovery.format).toBe('par2');
    const onDisk = (await readdir(b10)).filter((f) => f.endsWith('.par2')).sort();
    expect(onDisk).toContain('bundle.par2');
    expect(onDisk.some((f) => /^bundle\.vol\d+\+\d+\.par2$/.test(f))).toBe(true);
    expect(d.recovery.files.map((f: { file: string }) => f.file).sort()).toEqual(onDisk);
    for (const f of d.recovery.files) {
      const bytes = await readFile(join(b10, f.file));
      expect(bytes.length).toBeLessThanOrEqual(CHUNK);
      expect(sha256(bytes)).toBe(f.sha256);
    }
    const sums = (await readFile(join(b10, 'SHA256SUMS'), 'utf8')).trim().split('\n').map((l) => l.split(/\s+/)[1]).sort();
    expect(sums).toEqual([...parts, ...onDisk, 'bundle.json'].sort());
  });

  it('sha256sum -c SHA256SUMS passes', async () => {
    const r = await execa('sha256sum', ['-c', 'SHA256SUMS'], { cwd: b10, reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
  });

  it('the recovery overhead is within 2 percentage points of what was asked', async () => {
    for (const [dir, asked] of [[b10, 10], [b20, 20]] as const) {
      const d = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8'));
      const partBytes = d.parts.reduce((n: number, p: { size: number }) => n + p.size, 0);
      let par2Bytes = 0;
      for (const f of (await readdir(dir)).filter((x) => x.endsWith('.par2'))) par2Bytes += (await stat(join(dir, f))).size;
      const overhead = (100 * par2Bytes) / partBytes;
      expect(Math.abs(overhead - asked), `overhead ${overhead.toFixed(2)}% for ${asked}%`).toBeLessThanOrEqual(2);
    }
  });

  it("Debian's par2 verify accepts the bundle", async () => {
    const r = await execa('par2', ['verify', 'bundle.par2'], { cwd: b10, reject: false });
    expect(r.exitCode, String(r.stdout)).toBe(0);
  });

  it("Debian's par2 repair rebuilds a deleted part byte-identical, without airgap", async () => {
    const dir = await copyBundle(b10, 'par2-alone');
    const victim = (await partsOf(dir))[4];
    const original = await readFile(join(dir, victim));
    await rm(join(dir, victim));
    const r = await execa('par2', ['repair', 'bundle.par2'], { cwd: dir, reject: false });
    expect(r.exitCode, String(r.stdout)).toBe(0);
    expect((await readFile(join(dir, victim))).equals(original)).toBe(true);
  });

  it('--media and --chunk-size together are a usage error (exit 2); a bad --recovery too', async () => {
    const r = await runAirgap(['pack', join(work, 'transfer.yaml'), '--out', join(work, 'x'), '--media', 'dvd', '--chunk-size', '1MiB']);
    expect(r.exitCode).toBe(2);
    const bad = await runAirgap(['pack', join(work, 'transfer.yaml'), '--out', join(work, 'x'), '--recovery', '150%', '--key', join(keys, 'outside.key')], { cwd: work });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--recovery');
  });

  it('config recovery: is the default for pack', async () => {
    const config = join(work, 'recovery.airgaprc.yaml');
    await writeFile(config, 'recovery: 20%\n');
    const dir = await packBundle(join(work, 'outcfg'), ['--chunk-size', String(CHUNK), '--config', config], 'cfg');
    const d = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8'));
    expect(d.recovery.percent).toBe(20);
  });
});

describe('a damaged bundle: verify names the parts, repair rebuilds them', () => {
  it('any one deleted part (10%): named, repairable, restored byte-identical (every part in turn, library)', async () => {
    const parts = await partsOf(b10);
    for (const victim of parts) {
      const dir = await copyBundle(b10, `lost-${victim}`);
      const original = await readFile(join(dir, victim));
      await rm(join(dir, victim));
      const report = await assessDamage(dir, { trust });
      expect(report.damaged.map((d) => [d.file, d.state])).toEqual([[victim, 'missing']]);
      expect(report.recovery?.repairable, damageText(report)).toBe(true);
      const r = await repairBundle(dir, { trust });
      expect(r.repaired).toEqual([victim]);
      expect((await readFile(join(dir, victim))).equals(original)).toBe(true);
      expect((await readdir(dir)).filter((f) => f.startsWith('.airgap-repair'))).toEqual([]);
      await rm(dir, { recursive: true });
    }
  }, 600_000); // one copy, damage report and par2 repair per part: minutes on a loaded 2-core machine

  it('a deleted part through the CLI: verify exits 3 naming it as repairable, repair exits 0, unpack works', async () => {
    const dir = await copyBundle(b10, 'lost-cli');
    const victim = (await partsOf(dir))[6];
    const original = await readFile(join(dir, victim));
    await rm(join(dir, victim));
    const v = await runAirgap(['verify', dir, ...pub()]);
    expect(v.exitCode, v.stderr).toBe(3);
    expect(v.stderr).toContain(`${victim}: missing`);
    expect(v.stderr).toMatch(/repairable: the recovery data can rebuild them/);
    expect(v.stderr).toContain('airgap repair');
    const r = await runAirgapJson<{ repaired: string[] }>(['repair', dir, ...pub()]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.repaired).toEqual([victim]);
    expect((await readFile(join(dir, victim))).equals(original)).toBe(true);
    const mirror = join(work, 'mirror-repaired');
    const u = await unpackInto(dir, mirror);
    expect(u.exitCode, u.stderr).toBe(0);
    expect(await mirrorFiles(mirror)).toEqual(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, sha256(v)])));
  });

  it('a corrupted part (bytes flipped mid-file): named, repairable, restored, unpackable', async () => {
    const dir = await copyBundle(b10, 'corrupt');
    const victim = (await partsOf(dir))[3];
    const original = await readFile(join(dir, victim));
    const { blockSize } = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8')).recovery;
    await flipMiddle(join(dir, victim), blockSize);
    const v = await runAirgap(['verify', dir, ...pub()]);
    expect(v.exitCode).toBe(3);
    expect(v.stderr).toMatch(new RegExp(`${victim}: sha256 [0-9a-f]{64}, bundle.json says ${sha256(original)} \\(1 of \\d+ blocks to rebuild\\)`));
    expect(v.stderr).toContain('repairable');
    const r = await runAirgap(['repair', dir, ...pub()]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await readFile(join(dir, victim))).equals(original)).toBe(true);
    const u = await unpackInto(dir, join(work, 'mirror-corrupt'));
    expect(u.exitCode, u.stderr).toBe(0);
  });

  it('two lost parts with 20% recovery: both rebuilt', async () => {
    const dir = await copyBundle(b20, 'two-lost');
    const [a, b] = [(await partsOf(dir))[1], (await partsOf(dir))[8]];
    const originals = [await readFile(join(dir, a)), await readFile(join(dir, b))];
    await rm(join(dir, a));
    await rm(join(dir, b));
    const v = await runAirgap(['verify', dir, ...pub()]);
    expect(v.exitCode).toBe(3);
    expect(v.stderr).toContain(`${a}: missing`);
    expect(v.stderr).toContain(`${b}: missing`);
    expect(v.stderr).toContain('repairable');
    const r = await runAirgapJson<{ repaired: string[] }>(['repair', dir, ...pub()]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.repaired.sort()).toEqual([a, b]);
    expect((await readFile(join(dir, a))).equals(originals[0])).toBe(true);
    expect((await readFile(join(dir, b))).equals(originals[1])).toBe(true);
    expect((await unpackInto(dir, join(work, 'mirror-two'))).exitCode).toBe(0);
  });

  it('beyond capacity: verify and repair exit 3 saying how much is missing; unpack writes nothing', async () => {
    const dir = await copyBundle(b10, 'beyond');
    const parts = await partsOf(dir);
    for (const p of [parts[0], parts[2], parts[5]]) await rm(join(dir, p));
    const v = await runAirgap(['verify', dir, ...pub()]);
    expect(v.exitCode).toBe(3);
    for (const p of [parts[0], parts[2], parts[5]]) expect(v.stderr).toContain(`${p}: missing`);
    expect(v.stderr).toMatch(/NOT repairable: \d+ blocks \(.+\) to rebuild but only \d+ recovery blocks intact; \d+ blocks? \(.+\) more recovery data is missing/);
    const before = (await readdir(dir)).sort();
    const r = await runAirgap(['repair', dir, ...pub()]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('NOT repairable');
    expect((await readdir(dir)).sort()).toEqual(before);
    const mirror = join(work, 'mirror-beyond');
    const u = await unpackInto(dir, mirror);
    expect(u.exitCode).toBe(3);
    expect(await stat(mirror).then(() => readdir(mirror), () => [])).toEqual([]);
  });

  it('a damaged recovery file is not used (named as unusable), and the rest still repairs', async () => {
    const dir = await copyBundle(b20, 'bad-volume');
    const d = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8'));
    const vol = d.recovery.files.find((f: { blocks: number }) => f.blocks > 0).file as string;
    await flipMiddle(join(dir, vol));
    const victim = (await partsOf(dir))[2];
    const original = await readFile(join(dir, victim));
    await rm(join(dir, victim));
    const v = await runAirgap(['verify', dir, ...pub()]);
    expect(v.exitCode).toBe(3);
    expect(v.stderr).toContain(`recovery files missing or damaged (not used): ${vol}`);
    const r = await runAirgap(['repair', dir, ...pub()]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await readFile(join(dir, victim))).equals(original)).toBe(true);
  });

  it('without recovery data verify still names every missing part, and repair exits 3', async () => {
    const plain = await packBundle(join(work, 'outplain'), ['--chunk-size', String(CHUNK)], 'plain');
    const parts = await partsOf(plain);
    await rm(join(plain, parts[1]));
    await flipMiddle(join(plain, parts[4]));
    const v = await runAirgap(['verify', plain, ...pub()]);
    expect(v.exitCode).toBe(3);
    expect(v.stderr).toContain(`${parts[1]}: missing`);
    expect(v.stderr).toMatch(new RegExp(`${parts[4]}: sha256 [0-9a-f]{64}, bundle.json says`));
    expect(v.stderr).toContain('no recovery data');
    const r = await runAirgap(['repair', plain, ...pub()]);
    expect(r.exitCode).toBe(3);
  });

  it('repair trusts nothing before the signature: an untrusted key exits 3 and changes nothing', async () => {
    const dir = await copyBundle(b10, 'untrusted');
    await rm(join(dir, 'part-00002'));
    const other = join(work, 'otherkeys');
    await runAirgap(['keygen', '--out-dir', other, '--name', 'stranger']);
    const r = await runAirgap(['repair', dir, '--pub', join(other, 'stranger.pub')]);
    expect(r.exitCode).toBe(3);
    expect(await stat(join(dir, 'part-00002')).then(() => true, () => false)).toBe(false);
  });
});
