// writeBundle while the blobs are still downloading (BundleBlob.ready, WriteBundleOptions.until): what pack
// relies on to write parts during the downloads (src/pack-overlap.ts).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundleIndex, ContentStore, type Descriptor } from '@airgap/core';
import { type SecretKey, generateKeyPair, verifyBundle, writeBundle } from './index.js';

const MiB = 1 << 20;
const tmp = mkdtempSync(join(tmpdir(), 'airgap-writer-ready-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const created = new Date('2026-11-24T10:15:00Z');
let key: SecretKey;
let store: ContentStore;
let blobs: Descriptor[];
let index: BundleIndex;

beforeAll(async () => {
  key = generateKeyPair();
  store = new ContentStore(join(tmp, 'store'));
  blobs = [];
  for (const size of [700, 1_500_000, 300_000]) blobs.push(await store.put(Readable.from([randomBytes(size)])));
  index = {
    schema: 'airgap.index/v1',
    name: 'ready',
    created: created.toISOString(),
    blobs,
    artifacts: blobs.map((b, i) => ({ kind: 'file', name: `f${i}`, version: '1', digest: b.digest, blobs: [b], upstream: { url: `https://files.example/f${i}`, verified: 'sha256 given' } })),
  };
});

function deferred() {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const write = (outDir: string, ready: (Promise<void> | undefined)[], until?: Promise<void>) =>
  writeBundle({
    outDir, name: 'ready', created, index, chunkSize: MiB, key, toolVersion: 't', until,
    blobs: blobs.map((d, i) => ({ descriptor: d, path: store.path(d.digest), open: () => store.open(d.digest), ready: ready[i] })),
  });

describe('writeBundle with blobs that become ready later', () => {
  it('waits for each blob and for `until` before it signs, and writes the same bundle as without waiting', async () => {
    const plain = await write(join(tmp, 'plain'), []);
    const waits = blobs.map(() => deferred());
    const until = deferred();
    let settled = false;
    const writing = write(join(tmp, 'waited'), waits.map((w) => w.promise), until.promise).finally(() => (settled = true));
    // Released out of order: the writer still writes the index's order.
    waits[2].resolve();
    await new Promise((r) => setTimeout(r, 50));
    waits[0].resolve();
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    waits[1].resolve();
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false); // every blob is there, but `until` (every download checked) is not
    expect(readdirSync(join(tmp, 'waited')).filter((f) => !f.startsWith('.'))).toEqual([]);
    until.resolve();
    const r = await writing;
    expect(r.descriptor.parts).toEqual(plain.descriptor.parts);
    const v = await verifyBundle(r.dir, { trust: [key.publicKey] });
    expect(v.index).toEqual(index);
  });

  it('a blob whose download fails stops the write and leaves nothing in outDir', async () => {
    const outDir = join(tmp, 'failed');
    const waits = blobs.map(() => deferred());
    const writing = write(outDir, waits.map((w) => w.promise), Promise.resolve());
    waits[0].resolve();
    waits[1].reject(new Error('download of f1 failed'));
    await expect(writing).rejects.toThrow('download of f1 failed');
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('a failure after the last blob (`until` rejects) signs nothing and leaves nothing in outDir', async () => {
    const outDir = join(tmp, 'until-failed');
    const until = deferred();
    const writing = write(outDir, [], until.promise);
    until.reject(new Error('another artifact failed'));
    await expect(writing).rejects.toThrow('another artifact failed');
    expect(readdirSync(outDir)).toEqual([]);
  });
});
