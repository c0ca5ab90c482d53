import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { type Descriptor, OCTET_STREAM, digestHex, newSha256 } from './descriptor.js';
import { IntegrityError } from './errors.js';
import { pipeToNewFile, syncFile, writeFileAtomic } from './atomic-file.js';

// Moved to atomic-file.ts (one home for atomic writes); still importable from here.
export { syncFile, writeFileAtomic };

export interface Expected {
  digest?: string;
  size?: number;
  /** Names the thing in a mismatch message: an artifact, a URL. */
  subject?: string;
}

/**
 * A content-addressed blob store on disk: `blobs/sha256/<hex>`. Writes go to a temporary file, are
 * hashed while they stream and renamed into place only when the digest (and size) match, so a
 * mismatch or a crash never leaves a wrong or half blob under a final name (docs/design.md: streams, files, state).
 * Used as pack's download cache, which survives across runs.
 */
export class ContentStore {
  constructor(readonly root: string) {}

  path(digest: string): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  async size(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(digest))).size;
    } catch {
      return undefined;
    }
  }

  open(digest: string): Readable {
    return createReadStream(this.path(digest), { highWaterMark: 1 << 20 });
  }

  /**
   * Stream `source` into the store, verifying `expected` while it streams. Returns the descriptor of
   * what was stored. On a mismatch the temporary file is removed and an IntegrityError names both digests.
   */
  async put(source: Readable | AsyncIterable<Uint8Array>, expected: Expected = {}, mediaType = OCTET_STREAM): Promise<Descriptor> {
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, randomBytes(8).toString('hex'));
    const hash = newSha256();
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        if (expected.size !== undefined && size > expected.size) {
          cb(new IntegrityError(`${expected.subject ?? 'blob'}: more bytes than the expected ${expected.size}`, { subject: expected.subject }));
          return;
        }
        cb(null, chunk);
      },
    });
    try {
      await pipeToNewFile(source, tmp, meter);
      const digest = 'sha256:' + hash.digest('hex');
      if (expected.digest && expected.digest !== digest) {
        throw new IntegrityError(`${expected.subject ?? 'blob'}: digest mismatch: expected ${expected.digest}, got ${digest}`, {
          subject: expected.subject,
          hint: 'the upstream served different bytes than its own integrity data says; do not trust this source until it is explained',
        });
      }
      if (expected.size !== undefined && expected.size !== size) {
        throw new IntegrityError(`${expected.subject ?? 'blob'}: size mismatch: expected ${expected.size} bytes, got ${size}`, { subject: expected.subject });
      }
      const final = this.path(digest);
      if ((await this.size(digest)) === size) {
        // Already stored (put only after its digest checked): the new copy is dropped unsynced, so its
        // bytes need not reach the disk, and the stored file is left as it is.
        await rm(tmp, { force: true });
        return { mediaType, digest, size };
      }
      await mkdir(dirname(final), { recursive: true });
      await syncFile(tmp);
      await rename(tmp, final);
      return { mediaType, digest, size };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** Small JSON records kept beside the blobs (e.g. URL → digest with ETag for revalidation). */
  async getRef<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.refPath(key), 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  async setRef(key: string, value: unknown): Promise<void> {
    const p = this.refPath(key);
    await mkdir(dirname(p), { recursive: true });
    await writeFileAtomic(p, JSON.stringify(value));
  }

  private refPath(key: string): string {
    return join(this.root, 'refs', newSha256().update(key).digest('hex') + '.json');
  }
}
