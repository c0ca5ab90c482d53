import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PartWriter } from './parts.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('PartWriter.close', () => {
  it('resolves once every part is whole and readable (recovery data reads them), then synced settles', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airgap-parts-'));
    dirs.push(dir);
    const data = randomBytes(2_500_000);
    const w = new PartWriter(dir, 1_000_000);
    await w.write(data);
    const { parts, synced } = await w.close();
    expect(parts.map((p) => [p.file, p.size])).toEqual([['part-00001', 1_000_000], ['part-00002', 1_000_000], ['part-00003', 500_000]]);
    // Already complete on disk before the fsyncs are awaited: each file is its slice of the stream.
    for (const [i, p] of parts.entries()) {
      const bytes = await readFile(join(dir, p.file));
      expect(bytes.equals(data.subarray(i * 1_000_000, i * 1_000_000 + p.size))).toBe(true);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.sha256);
    }
    await expect(synced).resolves.toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['part-00001', 'part-00002', 'part-00003']);
    await w.abort(); // the worker is stopped: abort returns at once instead of waiting for it
  });

  it('a write into a folder that is gone fails close() instead of returning parts', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'airgap-parts-'));
    dirs.push(parent); // the temp folder itself, not only the part folder inside it
    const dir = join(parent, 'gone');
    const w = new PartWriter(dir, 1000);
    await w.write(randomBytes(10));
    await expect(w.close()).rejects.toThrow(/cannot write the bundle parts/);
    await w.abort();
  });
});
