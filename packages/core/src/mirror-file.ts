import { createReadStream } from 'node:fs';
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
