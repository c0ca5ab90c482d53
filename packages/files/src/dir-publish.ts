import { type Artifact, type ConfinedRoot, type PublishContext, type PublishHalf, TargetError, dirMirror } from '@airgap/core';
import { checkRelativePath } from './target-path.js';

/** `files/` of the mirror and the file's place in it; every write goes through the confined root (docs/security.md). */
function place(artifact: Artifact, ctx: PublishContext): { root: ConfinedRoot; rel: string } {
  // The path comes from the signed index, validated at verify; it is still checked so nothing lands outside the mirror.
  return { root: dirMirror(ctx, 'files'), rel: checkRelativePath(String(artifact.meta?.path ?? artifact.name)) };
}

/** `files/<path>` in a directory mirror (docs/design.md). */
export const fileDirPublisher: PublishHalf = {
  async exists(artifact, ctx) {
    const { root, rel } = place(artifact, ctx);
    const st = await root.stat(rel);
    if (!st) return 'absent';
    if (st.isFile() && st.size === artifact.blobs[0].size && (await root.digest(rel)) === artifact.digest) return 'present';
    throw new TargetError(`${root.path(rel)} already exists with different content than ${artifact.name} (${artifact.digest})`, {
      subject: root.path(rel),
      hint: 'airgap never overwrites a published file: move the old file away if the new one is meant to replace it',
    });
  },

  async publish(artifact, ctx) {
    const { root, rel } = place(artifact, ctx);
    await root.writeStream(rel, ctx.blobs.open(artifact.blobs[0]));
  },
};
