import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundleIndex, ContentStore, type Descriptor, IntegrityError, TrustError, UsageError } from '@airgap/core';
import { type BundleDescriptor, type SecretKey, generateKeyPair, readBundleDescriptor, readIndexUnverified, signMinisign, trustedComment, verifyBundle, writeBundle, writeKeyPair } from './index.js';

const MiB = 1 << 20;
const tmp = mkdtempSync(join(tmpdir(), 'airgap-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const created = new Date('2026-11-24T10:15:00Z');
let key: SecretKey;
let store: ContentStore;
let blobs: Descriptor[];
let index: BundleIndex;
let pristine: string;
let pubFile: string;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function sh(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * MiB });
}

/** A fresh copy of the pristine bundle to damage. */
let copies = 0;
function copyBundle(): string {
  const dir = join(tmp, `copy-${copies++}`);
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<Error & { exitCode?: number; subject?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { exitCode?: number };
  }
  throw new Error('expected a rejection');
}

/** Blobs as the CLI gives them: every other one with its file path (read directly), the rest as streams only. */
function blobsFor(list: Descriptor[]) {
  return list.map((d, i) => ({ descriptor: d, open: () => store.open(d.digest), ...(i % 2 ? { path: store.path(d.digest) } : {}) }));
}

beforeAll(async () => {
  key = generateKeyPair();
  ({ pubFile } = await writeKeyPair(tmp, 'test', key, {}));
  store = new ContentStore(join(tmp, 'store'));
  blobs = [];
  // Sizes around tar's 512-byte blocks and larger than a part (1 MiB), so blobs span part boundaries.
  for (const size of [0, 1, 511, 512, 513, 300_000, 1_500_000, 2_600_000, 700_000]) {
    blobs.push(await store.put(Readable.from([randomBytes(size)])));
  }
  const manifest = { ...blobs[5], mediaType: 'application/vnd.oci.image.manifest.v1+json' };
  index = {
    schema: 'airgap.index/v1',
    name: 'platform-base',
    created: created.toISOString(),
    blobs,
    artifacts: [
      { kind: 'image', name: 'library/busybox', version: '1.36', digest: manifest.digest, blobs: [manifest, blobs[6], blobs[7]], upstream: { url: 'https://registry.example/v2/', verified: 'digest' }, oci: { root: manifest, refName: 'library/busybox:1.36' } },
      { kind: 'file', name: 'tool', version: '1', digest: blobs[8].digest, blobs: [blobs[8]], upstream: { url: 'https://files.example/tool', verified: 'sha256 given' } },
      { kind: 'file', name: 'small', version: '1', digest: blobs[2].digest, blobs: blobs.slice(0, 5), upstream: { url: 'https://files.example/small', verified: 'none given' } },
    ],
  };
  // Repeated blobs are written once.
  const r = await writeBundle({ outDir: join(tmp, 'out'), name: 'platform-base', created, index, blobs: blobsFor([...blobs, blobs[6], blobs[0]]), chunkSize: MiB, key, toolVersion: '0.1.0-test' });
  pristine = r.dir;
});

describe('writeBundle', () => {
  it('writes parts that sha256sum, minisign and GNU tar accept, in the docs/bundle-format.md layout', () => {
    expect(pristine).toBe(join(tmp, 'out', 'platform-base-20261124T101500Z'));
    const files = readdirSync(pristine).sort();
    const parts = files.filter((f) => f.startsWith('part-'));
    expect(files).toEqual(['SHA256SUMS', 'bundle.json', 'bundle.json.minisig', ...parts]);
    expect(parts.length).toBeGreaterThanOrEqual(5);
    parts.forEach((p, i) => expect(p).toBe(`part-${String(i + 1).padStart(5, '0')}`));
    for (const p of parts.slice(0, -1)) expect(statSync(join(pristine, p)).size).toBe(MiB);
    expect(statSync(join(pristine, parts.at(-1)!)).size).toBeLessThanOrEqual(MiB);

    // Independent tools: coreutils and minisign.
    expect(sh('sha256sum', ['-c', 'SHA256SUMS'], pristine)).toBe([...parts, 'bundle.json'].map((f) => `${f}: OK\n`).join(''));
    const v = spawnSync('minisign', ['-Vm', 'bundle.json', '-p', pubFile], { cwd: pristine, encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toContain('Trusted comment: bundle:platform-base created:2026-11-24T10:15:00.000Z');

    // GNU tar lists the concatenation with airgap-index.json first, and extracts it.
    const tarFile = join(tmp, 'whole.tar');
    writeFileSync(tarFile, Buffer.concat(parts.map((p) => readFileSync(join(pristine, p)))));
    const names = sh('tar', ['-tf', tarFile], tmp).trim().split('\n');
    expect(names[0]).toBe('airgap-index.json');
    expect(names.slice(1, 3)).toEqual(['oci-layout', 'index.json']);
    const ext = join(tmp, 'extracted');
    mkdirSync(ext);
    sh('tar', ['-xf', tarFile, '-C', ext], tmp);
    const blobFiles = readdirSync(join(ext, 'blobs', 'sha256')).sort();
    expect(blobFiles).toEqual([...new Set(blobs.map((b) => b.digest.slice(7)))].sort());
    for (const hex of blobFiles) expect(sha256(readFileSync(join(ext, 'blobs', 'sha256', hex)))).toBe(hex);
    expect(JSON.parse(readFileSync(join(ext, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const oci = JSON.parse(readFileSync(join(ext, 'index.json'), 'utf8'));
    expect(oci.schemaVersion).toBe(2);
    expect(oci.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(oci.manifests).toEqual([{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: blobs[5].digest, size: blobs[5].size, annotations: { 'org.opencontainers.image.ref.name': 'library/busybox:1.36' } }]);
    expect(JSON.parse(readFileSync(join(ext, 'airgap-index.json'), 'utf8'))).toEqual(index);

    // Deterministic headers: owner 0/0, mtime = created.
    const long = sh('tar', ['--numeric-owner', '--full-time', '-tvf', tarFile], tmp).trim().split('\n');
    for (const l of long) expect(l).toMatch(/^[-d]rw[-x]r-[-x]r-[-x] 0\/0 +\d+ 2026-11-24 10:15:00 /);

    const d = JSON.parse(readFileSync(join(pristine, 'bundle.json'), 'utf8')) as BundleDescriptor;
    expect(d).toMatchObject({ schema: 'airgap.bundle/v1', name: 'platform-base', created: '2026-11-24T10:15:00.000Z', tool: '0.1.0-test', signer: key.keyId, base: null });
    expect(d.totals).toEqual({ artifacts: 3, blobs: blobs.length, bytes: blobs.reduce((n, b) => n + b.size, 0) });
    expect(d.index.sha256).toBe(sha256(readFileSync(join(ext, 'airgap-index.json'))));
    expect('incomplete' in d).toBe(false);
  });

  it('refuses to replace an existing bundle directory (exit 2)', async () => {
    const e = await rejection(writeBundle({ outDir: join(tmp, 'out'), name: 'platform-base', created, index, blobs: blobsFor(blobs), chunkSize: MiB, key, toolVersion: 't' }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain(pristine);
  });

  it('leaves nothing in outDir when a blob stream fails mid-write, or a blob has the wrong size', async () => {
    const outDir = join(tmp, 'atomic');
    mkdirSync(outDir);
    const failing = blobsFor(blobs).map((b) =>
      b.descriptor.digest === blobs[7].digest
        ? {
            descriptor: b.descriptor,
            open: () =>
              Readable.from(
                (async function* () {
                  yield randomBytes(1000);
                  throw new Error('disk read failed');
                })(),
              ),
          }
        : b,
    );
    const e = await rejection(writeBundle({ outDir, name: 'x', created, index, blobs: failing, chunkSize: MiB, key, toolVersion: 't' }));
    expect(e.message).toContain('disk read failed');
    expect(readdirSync(outDir)).toEqual([]);

    const short = blobsFor(blobs).map((b) => (b.descriptor.digest === blobs[6].digest ? { descriptor: b.descriptor, open: () => Readable.from([randomBytes(10)]) } : b));
    const e2 = await rejection(writeBundle({ outDir, name: 'x', created, index, blobs: short, chunkSize: MiB, key, toolVersion: 't' }));
    expect(e2).toBeInstanceOf(IntegrityError);
    expect(e2.message).toContain(blobs[6].digest);
    expect(readdirSync(outDir)).toEqual([]);

    // A blob given as a file whose size is not the descriptor's.
    const wrongFile = join(tmp, 'wrong-size');
    writeFileSync(wrongFile, randomBytes(100));
    const byPath = blobsFor(blobs).map((b) => (b.descriptor.digest === blobs[7].digest ? { ...b, path: wrongFile } : b));
    const e3 = await rejection(writeBundle({ outDir, name: 'x', created, index, blobs: byPath, chunkSize: MiB, key, toolVersion: 't' }));
    expect(e3).toBeInstanceOf(IntegrityError);
    expect(e3.message).toContain(`${blobs[7].digest} (${wrongFile}) has 100 bytes`);
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('records base and incomplete in bundle.json when given', async () => {
    const r = await writeBundle({ outDir: join(tmp, 'inc'), name: 'inc', created, index, blobs: blobsFor(blobs), chunkSize: 4 * MiB, key, toolVersion: 't', base: { receipt: 'r.json' }, incomplete: { skipped: ['npm x@1'] } });
    expect(r.descriptor.parts).toHaveLength(2);
    const d = await readBundleDescriptor(r.dir);
    expect(d.base).toEqual({ receipt: 'r.json' });
    expect(d.incomplete).toEqual({ skipped: ['npm x@1'] });
    expect(await readIndexUnverified(r.dir)).toEqual(index);
  });
});

describe('verifyBundle', () => {
  it('verifies and streams every blob byte-identical, including blobs that span parts', async () => {
    const v = await verifyBundle(pristine, { trust: [generateKeyPair().publicKey, key.publicKey] });
    expect(v.signer).toBe(key.keyId);
    expect(v.index).toEqual(index);
    expect(v.bundleJsonSha256).toBe(sha256(readFileSync(join(pristine, 'bundle.json'))));
    for (const d of blobs) {
      const chunks: Buffer[] = [];
      for await (const c of v.blobs.open(d)) chunks.push(c as Buffer);
      const got = Buffer.concat(chunks);
      expect(got.length).toBe(d.size);
      expect(got.equals(readFileSync(store.path(d.digest))), d.digest).toBe(true);
    }
    // GNU tar's block numbers show which blobs cross a 1 MiB part boundary: some must.
    const whole = join(tmp, 'whole.tar');
    const spanning = sh('tar', ['-tvRf', whole], tmp)
      .trim()
      .split('\n')
      .map((l) => /^block (\d+): \S+ \S+ +(\d+) .* blobs\/sha256\/([a-f0-9]{64})$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .filter((m) => {
        const start = (Number(m[1]) + 1) * 512;
        const end = start + Number(m[2]);
        return Math.floor(start / MiB) !== Math.floor((end - 1) / MiB) && Number(m[2]) > 0;
      });
    expect(spanning.length).toBeGreaterThan(0);
  });

  it('blobs.open fails with exit 3 for a blob not in the bundle, and for bytes changed after verification', async () => {
    const dir = copyBundle();
    const v = await verifyBundle(dir, { trust: [key.publicKey] });
    const stranger = { mediaType: 'application/octet-stream', digest: 'sha256:' + 'ab'.repeat(32), size: 3 };
    const e = await rejection((async () => { for await (const _ of v.blobs.open(stranger)) void _; })());
    expect(e).toBeInstanceOf(IntegrityError);
    expect(e.message).toContain(stranger.digest);
    // Flip a byte inside blobs[7] (2.6 MB, so it covers the middle of part-00003).
    const fd = join(dir, 'part-00003');
    const buf = readFileSync(fd);
    buf[MiB / 2] ^= 0xff;
    writeFileSync(fd, buf);
    const e2 = await rejection((async () => { for await (const _ of v.blobs.open(blobs[7])) void _; })());
    expect(e2).toBeInstanceOf(IntegrityError);
    expect(e2.message).toContain(blobs[7].digest);
  });

  it('with insecureSkipSignature, verifies everything but the signature (signer null)', async () => {
    const dir = copyBundle();
    rmSync(join(dir, 'bundle.json.minisig'));
    const v = await verifyBundle(dir, { trust: [], insecureSkipSignature: true });
    expect(v.signer).toBeNull();
    expect(v.index.artifacts).toHaveLength(3);
  });

  const damage: [string, (dir: string) => void, RegExp][] = [
    ['a flipped byte in the first part', (d) => flip(d, 'part-00001', 100), /part-00001 is corrupt/],
    ['a flipped byte in a middle part', (d) => flip(d, 'part-00003', 777_777), /part-00003 is corrupt/],
    ['a flipped byte in the last part', (d) => flip(d, lastPart(d), 10), /part-0000\d is corrupt/],
    ['a truncated part', (d) => truncateSync(join(d, 'part-00002'), 1000), /part-00002 is 1000 bytes, expected 1048576 \(truncated\)/],
    ['a missing part', (d) => rmSync(join(d, 'part-00004')), /missing part part-00004/],
    ['an extra byte appended', (d) => appendFileSync(join(d, lastPart(d)), 'x'), /part-0000\d is \d+ bytes, expected \d+ \(extended\)/],
    ['a tampered SHA256SUMS', (d) => writeFileSync(join(d, 'SHA256SUMS'), readFileSync(join(d, 'SHA256SUMS'), 'utf8').replace(/^./, (c) => (c === '0' ? '1' : '0'))), /SHA256SUMS gives part-00001 the sha256/],
    ['a stale part left from another bundle', (d) => writeFileSync(join(d, 'part-00099'), 'old'), /part files that bundle.json does not list: part-00099/],
  ];
  for (const [what, harm, message] of damage) {
    it(`refuses ${what} with exit 3 naming it`, async () => {
      const dir = copyBundle();
      harm(dir);
      const e = await rejection(verifyBundle(dir, { trust: [key.publicKey] }));
      expect(e).toBeInstanceOf(IntegrityError);
      expect(e.exitCode).toBe(3);
      expect(e.message).toMatch(message);
    });
  }

  it('refuses a signature by an untrusted key, naming both key ids', async () => {
    const other = generateKeyPair();
    const e = await rejection(verifyBundle(pristine, { trust: [other.publicKey] }));
    expect(e).toBeInstanceOf(TrustError);
    expect(e.exitCode).toBe(3);
    expect(e.message).toContain(key.keyId);
    expect(e.message).toContain(other.keyId);
  });

  it('refuses an unsigned bundle', async () => {
    const dir = copyBundle();
    rmSync(join(dir, 'bundle.json.minisig'));
    const e = await rejection(verifyBundle(dir, { trust: [key.publicKey] }));
    expect(e).toBeInstanceOf(TrustError);
    expect(e.message).toMatch(/unsigned/);
  });

  it('refuses an edited bundle.json (a part size changed): bad signature, and without the signature check the part is named', async () => {
    const dir = copyBundle();
    const d = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as BundleDescriptor;
    d.parts[1].size -= 512;
    writeFileSync(join(dir, 'bundle.json'), JSON.stringify(d, null, 2) + '\n');
    const e = await rejection(verifyBundle(dir, { trust: [key.publicKey] }));
    expect(e).toBeInstanceOf(TrustError);
    expect(e.message).toMatch(/bad signature/);
    // Fix SHA256SUMS to match the edit: the size check still catches it.
    writeFileSync(join(dir, 'SHA256SUMS'), sh('sha256sum', [...d.parts.map((p) => p.file), 'bundle.json'], dir));
    const e2 = await rejection(verifyBundle(dir, { trust: [key.publicKey], insecureSkipSignature: true }));
    expect(e2).toBeInstanceOf(IntegrityError);
    expect(e2.message).toMatch(/part-00002 is 1048576 bytes, expected 1048064/);
  });

  describe('a correctly signed bundle whose tar (made by GNU tar) holds a hostile entry', () => {
    let ext: string;
    beforeAll(() => {
      ext = join(tmp, 'reseal-src');
      mkdirSync(ext);
      sh('sh', ['-c', `cat "$1"/part-* | tar -xf - -C "$2"`, 'sh', pristine, ext], tmp);
    });

    /** Tar `names` (in order) with GNU tar, split into 1 MiB parts, write bundle.json and sign it with the trusted key. */
    function reseal(label: string, tarArgs: string[]): string {
      const dir = join(tmp, `reseal-${label}`);
      mkdirSync(dir);
      const tarFile = join(tmp, `reseal-${label}.tar`);
      sh('tar', ['--format=posix', '-cf', tarFile, ...tarArgs], ext);
      sh('split', ['-b', String(MiB), '-d', '-a', '5', '--numeric-suffixes=1', tarFile, 'part-'], dir);
      const parts = readdirSync(dir).sort().map((file) => {
        const b = readFileSync(join(dir, file));
        return { file, size: b.length, sha256: sha256(b) };
      });
      const indexBytes = readFileSync(join(ext, 'airgap-index.json'));
      const d: BundleDescriptor = {
        schema: 'airgap.bundle/v1', name: 'platform-base', created: created.toISOString(), tool: 't', signer: key.keyId,
        index: { sha256: sha256(indexBytes), size: indexBytes.length }, parts,
        totals: { artifacts: index.artifacts.length, blobs: blobs.length, bytes: 0 }, base: null,
      };
      const json = Buffer.from(JSON.stringify(d, null, 2));
      writeFileSync(join(dir, 'bundle.json'), json);
      writeFileSync(join(dir, 'bundle.json.minisig'), signMinisign(json, key, trustedComment(d)));
      writeFileSync(join(dir, 'SHA256SUMS'), sh('sha256sum', [...parts.map((p) => p.file), 'bundle.json'], dir));
      expect(spawnSync('minisign', ['-Vm', 'bundle.json', '-p', pubFile], { cwd: dir }).status).toBe(0);
      return dir;
    }
    const rest = ['oci-layout', 'index.json', 'blobs'];

    it('accepts the same content re-tarred by GNU tar without a hostile entry (the control)', async () => {
      const v = await verifyBundle(reseal('control', ['airgap-index.json', ...rest]), { trust: [key.publicKey] });
      expect(v.index).toEqual(index);
    });

    it('verifies a signed bundle whose blob bytes do not match its name, and refuses that blob as it is read', async () => {
      // The signer's own fault (a damaged cache): the part hashes are right, so verify passes; the blob's
      // digest is checked where it is used, before anything of it is published (docs/security.md).
      const victim = blobs[8];
      const hex = victim.digest.slice('sha256:'.length);
      writeFileSync(join(ext, 'evil'), randomBytes(victim.size));
      const others = readdirSync(join(ext, 'blobs', 'sha256')).filter((h) => h !== hex).map((h) => `blobs/sha256/${h}`);
      const dir = reseal('wrongblob', ['--transform', `s,^evil$,blobs/sha256/${hex},`, 'airgap-index.json', ...rest.slice(0, 2), ...others, 'evil']);
      const v = await verifyBundle(dir, { trust: [key.publicKey] });
      const e = await rejection((async () => { for await (const _ of v.blobs.open(victim)) void _; })());
      expect(e).toBeInstanceOf(IntegrityError);
      expect(e.exitCode).toBe(3);
      expect(e.message).toMatch(new RegExp(`blob ${victim.digest} is corrupt`));
      let n = 0;
      for await (const c of v.blobs.open(blobs[7])) n += (c as Buffer).length;
      expect(n).toBe(blobs[7].size);
    });

    const hostile: [string, () => string[], RegExp][] = [
      ['../escape', () => (writeFileSync(join(tmp, 'escape'), 'x'), ['-P', 'airgap-index.json', '../escape', ...rest]), /unsafe tar entry name "\.\.\/escape"/],
      ['/etc/x', () => (writeFileSync(join(ext, 'abs'), 'x'), ['-P', '--transform', 's,^abs$,/etc/x,', 'airgap-index.json', 'abs', ...rest]), /unsafe tar entry name "\/etc\/x"/],
      ['a symlink', () => (symlinkSync('/etc/passwd', join(ext, 'sym')), ['airgap-index.json', 'sym', ...rest]), /tar entry "sym" is a symbolic link/],
      ['a hardlink', () => (linkSync(join(ext, 'oci-layout'), join(ext, 'hard')), ['airgap-index.json', 'oci-layout', 'hard', 'index.json', 'blobs']), /tar entry "hard" is a hard link/],
    ];
    for (const [what, args, message] of hostile) {
      it(`refuses ${what} with exit 3 naming the entry, though the signature is valid`, async () => {
        const dir = reseal(what.replace(/[^a-z]/g, ''), args());
        const e = await rejection(verifyBundle(dir, { trust: [key.publicKey] }));
        expect(e).toBeInstanceOf(IntegrityError);
        expect(e.exitCode).toBe(3);
        expect(e.message).toMatch(message);
      });
    }
  });

  it('writes nothing: the bundle directory and the working directory are unchanged, even on failure', async () => {
    const dir = copyBundle();
    const snapshot = (d: string) => readdirSync(d).sort().map((f) => { const s = statSync(join(d, f)); return `${f} ${s.size} ${s.mtimeMs}`; });
    const beforeDir = snapshot(dir);
    // The working directory (the repository, in a test run): its entries by name, and its files by size and
    // mtime; not its folders' mtimes, which other test files change meanwhile (node_modules/.cache made on a
    // fresh checkout by the first fixture build).
    const cwdSnapshot = () => readdirSync(process.cwd()).sort().map((f) => { const s = statSync(f); return s.isFile() ? `${f} ${s.size} ${s.mtimeMs}` : f; });
    const beforeCwd = cwdSnapshot();
    const beforeTmp = readdirSync(tmp).sort();
    await verifyBundle(dir, { trust: [key.publicKey] });
    flip(dir, 'part-00002', 5);
    const afterFlip = snapshot(dir);
    await rejection(verifyBundle(dir, { trust: [key.publicKey] }));
    expect(snapshot(dir)).toEqual(afterFlip);
    expect(afterFlip.filter((l) => !l.startsWith('part-00002'))).toEqual(beforeDir.filter((l) => !l.startsWith('part-00002')));
    expect(cwdSnapshot()).toEqual(beforeCwd);
    expect(readdirSync(tmp).sort()).toEqual(beforeTmp);
    expect(existsSync(join(dir, '..', `${dir}.partial`))).toBe(false);
  });
});

function flip(dir: string, part: string, at: number): void {
  const p = join(dir, part);
  const b = readFileSync(p);
  b[at] ^= 0x01;
  writeFileSync(p, b);
}

function lastPart(dir: string): string {
  return readdirSync(dir).filter((f) => f.startsWith('part-')).sort().at(-1)!;
}
