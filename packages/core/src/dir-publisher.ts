import type { Artifact } from './artifact.js';
import type { ConfinedRoot } from './confined-root.js';
import { dirMirror } from './confined-root.js';
import type { Descriptor } from './descriptor.js';
import type { Presence, PublishContext, PublishHalf } from './ecosystem.js';
import { TargetError } from './errors.js';

/**
 * Whether `rel` holds exactly `blob` (docs/design.md "Publishing"): `absent` when nothing is there,
 * `present` when the size and digest match, and a TargetError when another file is under that name —
 * a dir mirror never overwrites a published file. `what` names the artifact in the message.
 */
export async function filePresence(root: ConfinedRoot, rel: string, blob: Pick<Descriptor, 'digest' | 'size'>, what: string): Promise<Presence> {
  const st = await root.stat(rel);
  if (!st) return 'absent';
  if (st.isFile() && st.size === blob.size && (await root.digest(rel)) === blob.digest) return 'present';
  throw new TargetError(`${root.path(rel)} already exists with different content than ${what} (${blob.digest})`, {
    subject: root.path(rel),
    hint: 'airgap never overwrites a published file: move the old file away if the new one is meant to replace it',
  });
}

/** One file an artifact puts in the mirror: a blob of the bundle at a path below the ecosystem's folder. */
export interface MirrorFile {
  rel: string;
  blob: Descriptor;
}

/** What an ecosystem says about its part of a `dir:` mirror; the rest is the core's (dirPublisher). */
export interface MirrorLayout {
  /** The ecosystem's folder in the mirror (`apt`, `helm`, `files`, …). */
  folder: string;
  /** The files of one artifact (checked paths; the confined root refuses any that leaves the mirror). */
  files(artifact: Artifact): MirrorFile[];
  /** How messages name the artifact (`chart web@1.2.0`). */
  label(artifact: Artifact): string;
  /** The index hook: regenerate the folder's indexes once after every artifact of the kind was handled. */
  finalize?(artifacts: Artifact[], ctx: PublishContext, root: ConfinedRoot): Promise<void>;
}

/**
 * The `dir:` publisher for a kind whose artifacts are files under fixed paths (docs/design.md): presence
 * by digest (every file there with the bundle's bytes), never overwrite, atomic fsynced writes through the
 * confined root, and the ecosystem's index hook.
 */
export function dirPublisher(layout: MirrorLayout): PublishHalf {
  const rootOf = (ctx: PublishContext) => dirMirror(ctx, layout.folder);
  const half: PublishHalf = {
    async exists(artifact, ctx) {
      const root = rootOf(ctx);
      let all: Presence = 'present';
      for (const f of layout.files(artifact)) if ((await filePresence(root, f.rel, f.blob, layout.label(artifact))) === 'absent') all = 'absent';
      return all;
    },
    async publish(artifact, ctx) {
      const root = rootOf(ctx);
      for (const f of layout.files(artifact)) {
        if ((await filePresence(root, f.rel, f.blob, layout.label(artifact))) === 'absent') await root.writeStream(f.rel, ctx.blobs.open(f.blob));
      }
    },
  };
  const finalize = layout.finalize;
  if (finalize) half.finalize = (artifacts, ctx) => finalize(artifacts, ctx, rootOf(ctx));
  return half;
}
