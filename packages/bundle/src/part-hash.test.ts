import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeFileSync, writeSync, closeSync, truncateSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundleIndex, ContentStore, type Descriptor, IntegrityError } from '@airgap/core';
import { generateKeyPair, verifyBundle, writeBundle } from './index.js';
import { PartHasher, hashEarly, takeEarlyHasher } from './part-hash.js';

// Sizes above PartHasher's inline threshold (32 MiB in all), so the worker threads do the hashing.
const MiB = 1 << 20;
const tmp = mkdtempSync(join(tmpdir(), 'airgap-parthash-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sha256sum = (files: string[]) => execFileSync('sha256sum', files, { encoding: 'utf8' }).trim().split('\n').map((l) => l.split(' ')[0]);

describe('PartHasher on worker threads', () => {
  const files: { file: string; path: string; size: number }[] = [];
  beforeAll(() => {
    for (const [i, size] of [13 * MiB, 11 * MiB + 7, 9 * MiB + 511, 1].entries()) {
      const path = join(tmp, `f${i}`);
      writeFileSync(path, randomBytes(size));
      files.push({ file: `f${i}`, path, size });
    }
  });

  it('hashes every part as sha256sum does, in the given order, and reports every byte', async () => {
    const h = new PartHasher();
    let bytes = 0;
    try {
      const got = await h.hash(files, (n) => (bytes += n));
      expect(got.map((g) => g.sha256)).toEqual(sha256sum(files.map((f) => f.path)));
      expect(got.map((g) => g.read)).toEqual(files.map((f) => f.size));
      expect(bytes).toBe(files.reduce((n, f) => n + f.size, 0));
    } finally {
      await h.close();
    }
  });

  it('says how much it read of a part that is shorter than listed, and names a part it cannot open', async () => {
    const h = new PartHasher();
    try {
      const got = await h.hash([{ ...files[0], size: files[0].size + 100 }, ...files.slice(1)]);
      expect(got[0].read).toBe(files[0].size);
    } finally {
      await h.close();
    }
    const h2 = new PartHasher();
    try {
      await expect(h2.hash([...files, { file: 'gone', path: join(tmp, 'gone'), size: 40 * MiB }])).rejects.toMatchObject({ part: 'gone', code: 'ENOENT' });
    } finally {
      await h2.close();
    }
  });
});

describe('PartHasher early hashes (prefetch, before bundle.json is read)', () => {
  const until = async (h: PartHasher, bytes: number) => {
    for (let i = 0; i < 600 && h.bytesHashed < bytes; i++) await new Promise((r) => setTimeout(r, 50));
  };
  const makeParts = (name: string, sizes: number[]) => {
    const dir = join(tmp, name);
    mkdirSync(dir);
    return sizes.map((size, i) => {
      const file = `part-0000${i + 1}`;
      writeFileSync(join(dir, file), randomBytes(size));
      return { file, path: join(dir, file), size };
    });
  };

  it('hashes each byte once: the early digests serve the parts listed with the same size', async () => {
    const parts = makeParts('early-same', [17 * MiB, 16 * MiB + 5]);
    const h = new PartHasher();
    try {
      h.prefetch(join(tmp, 'early-same'));
      await until(h, 33 * MiB + 5);
      let bytes = 0;
      // A relative path names the same file (unpack and verify resolve theirs; a library caller may not).
      const got = await h.hash(parts.map((p, i) => (i === 0 ? { ...p, path: relative(process.cwd(), p.path) } : p)), (n) => (bytes += n));
      expect(got.map((g) => g.sha256)).toEqual(sha256sum(parts.map((p) => p.path)));
      expect(h.bytesHashed).toBe(33 * MiB + 5);
      expect(bytes).toBe(33 * MiB + 5);
    } finally {
      await h.close();
    }
  });

  it('hashes again a part changed after its early hash, or listed with another size', async () => {
    const parts = makeParts('early-changed', [17 * MiB, 16 * MiB + 5]);
    const h = new PartHasher();
    try {
      h.prefetch(join(tmp, 'early-changed'));
      await until(h, 33 * MiB + 5);
      // Same size, other bytes, times put back: the inode's change time still tells.
      const fd = openSync(parts[0].path, 'r+');
      writeSync(fd, Buffer.from('tampered'), 0, 8, 1000);
      closeSync(fd);
      utimesSync(parts[0].path, new Date(0), new Date(0));
      const got = await h.hash([parts[0], { ...parts[1], size: parts[1].size - 5 }]);
      expect(got[0].sha256).toBe(sha256sum([parts[0].path])[0]);
      expect(got[1].sha256).toBe(execFileSync('sh', ['-c', `head -c ${parts[1].size - 5} "$1" | sha256sum`, 'sh', parts[1].path], { encoding: 'utf8' }).split(' ')[0]);
      expect(h.bytesHashed).toBe(33 * MiB + 5 + 17 * MiB + 16 * MiB);
    } finally {
      await h.close();
    }
  });

  it('a FIFO named like a part blocks no thread; hashEarly takes the first argument that is a bundle directory', async () => {
    const dir = join(tmp, 'early-fifo');
    const parts = makeParts('early-fifo', [20 * MiB, 20 * MiB]);
    execFileSync('mkfifo', [join(dir, 'part-00003')]);
    writeFileSync(join(dir, 'bundle.json'), '{}');
    hashEarly(['--pub', join(tmp, 'no-such.pub'), '/etc/passwd', dir]);
    expect(takeEarlyHasher(join(tmp, 'other'))).toBeUndefined();
    const h = takeEarlyHasher(dir)!;
    expect(h).toBeInstanceOf(PartHasher);
    expect(takeEarlyHasher(dir)).toBeUndefined();
    try {
      const got = await h.hash(parts);
      expect(got.map((g) => g.sha256)).toEqual(sha256sum(parts.map((p) => p.path)));
      await expect(h.hash([{ file: 'part-00003', path: join(dir, 'part-00003'), size: 0 }])).resolves.toEqual([{ sha256: sha256sum(['/dev/null'])[0], read: 0 }]);
    } finally {
      await h.close();
    }
  });
});

describe('verifyBundle of a bundle large enough for the hashing threads', () => {
  let pristine: string;
  const key = generateKeyPair();
  beforeAll(async () => {
    const store = new ContentStore(join(tmp, 'store'));
    const blobs: Descriptor[] = [];
    for (const size of [20 * MiB + 3, 700, 14 * MiB, 5 * MiB + 1]) blobs.push(await store.put(Readable.from([randomBytes(size)])));
    const index: BundleIndex = {
      schema: 'airgap.index/v1', name: 'big', created: '2026-11-24T10:15:00Z', blobs,
      artifacts: blobs.map((d, i) => ({ kind: 'file', name: `f${i}`, version: '1', digest: d.digest, blobs: [d], upstream: { url: 'https://files.example/f', verified: 'none given' } })),
    };
    const r = await writeBundle({ outDir: join(tmp, 'out'), name: 'big', created: new Date('2026-11-24T10:15:00Z'), index, blobs: blobs.map((d) => ({ descriptor: d, open: () => store.open(d.digest), path: store.path(d.digest) })), chunkSize: 10 * MiB, key, toolVersion: 't' });
    pristine = r.dir;
  });

  it('verifies it, and every blob streams back with its digest checked', async () => {
    const v = await verifyBundle(pristine, { trust: [key.publicKey] });
    expect(v.descriptor.parts.length).toBe(4);
    for (const b of v.index.blobs) {
      let n = 0;
      for await (const c of v.blobs.open(b)) n += (c as Buffer).length;
      expect(n).toBe(b.size);
    }
  });

  it.each([1, 3, 4])('refuses one flipped byte in part %i (exit 3, naming the part)', async (p) => {
    const dir = join(tmp, `flip-${p}`);
    cpSync(pristine, dir, { recursive: true });
    const part = join(dir, `part-0000${p}`);
    const fd = openSync(part, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, 4321);
    b[0] ^= 0x40;
    writeSync(fd, b, 0, 1, 4321);
    closeSync(fd);
    const e = await verifyBundle(dir, { trust: [key.publicKey] }).then(() => undefined, (x: IntegrityError) => x);
    expect(e).toBeInstanceOf(IntegrityError);
    expect(e?.exitCode).toBe(3);
    expect(e?.message).toMatch(new RegExp(`part part-0000${p} is corrupt`));
  });

  it('a blob byte changed after verification fails the blob stream, not silently', async () => {
    const dir = join(tmp, 'after');
    cpSync(pristine, dir, { recursive: true });
    const v = await verifyBundle(dir, { trust: [key.publicKey] });
    const part = join(dir, readdirSync(dir).filter((f) => f.startsWith('part-')).sort()[1]);
    truncateSync(part, 5 * MiB);
    const first = v.index.blobs[0];
    const read = async () => {
      for await (const _ of v.blobs.open(first)) void _;
    };
    await expect(read()).rejects.toBeInstanceOf(IntegrityError);
  });
});
