import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Artifact, type PublishContext, type PublishHalf, TargetError, newSha256 } from '@airgap/core';
import { checkRelativePath } from './target-path.js';

function mirrorPath(artifact: Artifact, ctx: PublishContext): string {
  if (ctx.target.type !== 'dir') throw new TargetError('files dir publisher used with a non-dir target');
  // The path comes from the signed, verified index; it is still checked so nothing lands outside the mirror.
  const rel = checkRelativePath(String(artifact.meta?.path ?? artifact.name));
  return join(ctx.target.path, 'files', rel);
}

async function sha256OfFile(path: string): Promise<string> {
  const h = newSha256();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return 'sha256:' + h.digest('hex');
}

/** `files/<path>` in a directory mirror (SPEC §7). */
export const fileDirPublisher: PublishHalf = {
  async exists(artifact, ctx) {
    const path = mirrorPath(artifact, ctx);
    let st;
    try {
      st = await stat(path);
    } catch {
      return 'absent';
    }
    if (st.isFile() && st.size === artifact.blobs[0].size && (await sha256OfFile(path)) === artifact.digest) return 'present';
    throw new TargetError(`${path} already exists with different content than ${artifact.name} (${artifact.digest})`, {
      subject: path,
      hint: 'airgap never overwrites a published file: move the old file away if the new one is meant to replace it',
    });
  },

  async publish(artifact, ctx) {
    const path = mirrorPath(artifact, ctx);
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `.airgap-${randomBytes(6).toString('hex')}.tmp`);
    try {
      await pipeline(ctx.blobs.open(artifact.blobs[0]), createWriteStream(tmp));
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  },
};
