import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { newSha256 } from './descriptor.js';

/**
 * The `sha256:<hex>` digest of a file's bytes, streamed; undefined when there is no such file.
 * Publish halves use it to tell `present` from a different file under the same name (never overwrite).
 */
export async function fileDigest(path: string): Promise<string | undefined> {
  try {
    const h = newSha256();
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
    return 'sha256:' + h.digest('hex');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Stream `source` into `path` so that readers of a mirror never see half a file: a temporary file in the
 * same folder (same file system), renamed into place when complete, removed on any error. Parent folders
 * are made. Blobs from a bundle are checked against their digest while they stream (BlobSource).
 */
export async function writeStreamAtomic(source: Readable | AsyncIterable<Uint8Array>, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.airgap-${randomBytes(6).toString('hex')}.tmp`);
  try {
    await pipeline(source, createWriteStream(tmp, { highWaterMark: 1 << 20 }));
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
