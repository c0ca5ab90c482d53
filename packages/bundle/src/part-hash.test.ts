import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeFileSync, writeSync, closeSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundleIndex, ContentStore, type Descriptor, IntegrityError } from '@airgap/core';
import { generateKeyPair, verifyBundle, writeBundle } from './index.js';
import { PartHasher } from './part-hash.js';

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
