import { type Artifact, type PublishContext, TargetError } from '@airgap/core';
import type { ImageMeta } from './source.js';

/**
 * Moved tags (docs/oci.md "Moved tags"): a tag at the target that points to another digest than the
 * bundle's is moved by default, as `docker push` does (the old image stays addressable by digest), and
 * the ledger records the digest it pointed to (`previous`, docs/ledger.md). A target with
 * `immutableTags: true` (docs/config.md) refuses the move: the artifact fails (unpack exit 4) naming the
 * tag and both digests, and the tag keeps pointing where it did.
 *
 * The tags of what is attached to an image (cosign `sha256-<hex>.sig`/`.att`/`.sbom`, the referrers tag
 * `sha256-<hex>`) are not covered: they are named after the image's digest, and cosign adds to them by
 * moving them each time an image is signed again. They are moved and recorded like any other.
 */
export function immutableTagsAt(ctx: PublishContext): boolean {
  return (ctx.target.config as { immutableTags?: unknown }).immutableTags === true;
}

/** Whether moving this artifact's tag is refused at this target. */
function refused(a: Artifact, ctx: PublishContext): boolean {
  return immutableTagsAt(ctx) && (a.meta as unknown as ImageMeta).attachedTo === undefined;
}

/**
 * A tag of `a` at the target (`where`, e.g. `registry/repo:tag` or the layout's index.json) points to
 * `current`, not to `a.digest`: throw when the target's tags are immutable, else warn that it will move
 * (unless `quiet`: `exists` has said so already).
 */
export function checkTagMove(a: Artifact, current: string, where: string, ctx: PublishContext, opts: { quiet?: boolean } = {}): void {
  const tag = (a.meta as unknown as ImageMeta).tag;
  if (refused(a, ctx)) {
    throw new TargetError(
      `image ${a.oci?.refName ?? a.name}: tag ${tag} at ${where} points to ${current}; this bundle has ${a.digest}: not moved, target ${ctx.target.name} has immutableTags: true`,
      { subject: `${a.name}:${tag}`, hint: 'a new image needs a new tag; or remove the tag at the target on purpose, or set immutableTags: false for this target (docs/oci.md)' },
    );
  }
  if (!opts.quiet) ctx.log.warn(`image ${a.oci?.refName ?? a.name}: tag ${tag} at ${where} points to ${current}; it will be moved to ${a.digest} (recorded in the ledger)`);
}

/** Whether finalize may point `a`'s tag away from `current` (a dir layout moves refs there, not in publish). */
export function mayMoveTag(a: Artifact, current: string, ctx: PublishContext): boolean {
  return current === a.digest || !refused(a, ctx);
}
