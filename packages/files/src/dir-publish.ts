import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Artifact, type PublishContext, type PublishHalf, TargetError, fileDigest, writeStreamAtomic } from '@airgap/core';
import { checkRelativePath } from './target-path.js';

function mirrorPath(artifact: Artifact, ctx: PublishContext): string {
  if (ctx.target.type !== 'dir') throw new TargetError('files dir publisher used with a non-dir target');
  // The path comes from the signed, verified index; it is still checked so nothing lands outside the mirror.
  const rel = checkRelativePath(String(artifact.meta?.path ?? artifact.name));
  return join(ctx.target.path, 'files', rel);
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
    if (st.isFile() && st.size === artifact.blobs[0].size && (await fileDigest(path)) === artifact.digest) return 'present';
    throw new TargetError(`${path} already exists with different content than ${artifact.name} (${artifact.digest})`, {
      subject: path,
      hint: 'airgap never overwrites a published file: move the old file away if the new one is meant to replace it',
    });
  },

  async publish(artifact, ctx) {
    const path = mirrorPath(artifact, ctx);
    await writeStreamAtomic(ctx.blobs.open(artifact.blobs[0]), path);
  },
};
