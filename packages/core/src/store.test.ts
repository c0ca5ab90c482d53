import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/harness/tmp.js';
import { IntegrityError } from './errors.js';
import { ContentStore } from './store.js';

const store = async () => new ContentStore(await tempDir('airgap-store-'));
const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

describe('the content store', () => {
  it('a blob put twice is stored once: the second copy is dropped, the stored file (its inode) is kept, no temporary file is left', async () => {
    const s = await store();
    const data = randomBytes(300_000);
    const first = await s.put(Readable.from([data]));
    expect(first).toMatchObject({ digest: sha(data), size: data.length });
    const ino = (await stat(s.path(first.digest))).ino;
    const again = await s.put(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { digest: sha(data), size: data.length });
    expect(again).toEqual(first);
    expect((await stat(s.path(first.digest))).ino).toBe(ino);
    expect(await readdir(join(s.root, 'tmp'))).toEqual([]);
    expect(Buffer.compare(await readFile(s.path(first.digest)), data)).toBe(0);
  });

  it('a stored file of the wrong size (cut short on disk) is replaced by the new, checked copy', async () => {
    const s = await store();
    const data = randomBytes(5000);
    const d = await s.put(Readable.from([data]));
    await truncate(s.path(d.digest), 10);
    await s.put(Readable.from([data]));
    expect(Buffer.compare(await readFile(s.path(d.digest)), data)).toBe(0);
    expect(await readdir(join(s.root, 'tmp'))).toEqual([]);
  });

  it('a digest or size that does not match is an IntegrityError naming both, and nothing is stored or left', async () => {
    const s = await store();
    const data = randomBytes(2000);
    const wrong = 'sha256:' + '0'.repeat(64);
    const e = await s.put(Readable.from([data]), { digest: wrong, subject: 'x.bin' }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(IntegrityError);
    expect((e as Error).message).toContain(wrong);
    expect((e as Error).message).toContain(sha(data));
    const short = await s.put(Readable.from([data]), { size: 1999, subject: 'x.bin' }).catch((err: unknown) => err);
    expect(short).toBeInstanceOf(IntegrityError);
    expect(await s.has(sha(data))).toBe(false);
    expect(await readdir(join(s.root, 'tmp'))).toEqual([]);
  });
});
