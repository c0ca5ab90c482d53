import type { Artifact, PublishContext, PublishHalf } from '@airgap/core';
import { IntegrityError, InternalError, OCTET_STREAM, digestHex } from '@airgap/core';
import type { S3Item, S3Services } from '@airgap/s3';
import { checkRelativePath } from './target-path.js';

/** A Content-Type is sent as a header: only a plain `type/subtype; params` from the signed index is used. */
const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[ -~]*"|[A-Za-z0-9!#$&^_.+-]+))*$/;

function item(artifact: Artifact, ctx: PublishContext): { item: S3Item; bucket: S3Services['s3'] } {
  const bucket = (ctx.services as S3Services).s3;
  if (!bucket) throw new InternalError('files s3 publisher used without an s3 target');
  // The path comes from the signed, verified index; still checked so the key is the one it says.
  const path = checkRelativePath(String(artifact.meta?.path ?? artifact.name));
  const key = bucket.key(path);
  return { bucket, item: { key, size: artifact.blobs[0].size, sha256: digestHex(artifact.digest), label: `file ${artifact.name}` } };
}

function contentType(artifact: Artifact): string {
  const ct = artifact.meta?.contentType;
  if (ct === undefined) return OCTET_STREAM;
  if (typeof ct !== 'string' || ct.length > 200 || !CONTENT_TYPE.test(ct)) {
    throw new IntegrityError(`file ${artifact.name}: the index gives it an unusable content type ${JSON.stringify(ct).slice(0, 80)}`, { subject: artifact.name });
  }
  return ct;
}

/**
 * Files into an S3 bucket (`type: s3` target, docs/backups.md): each lands at `<prefix><path>` with its
 * content type and its sha256 as object metadata. Present = same key, same size, same sha256; another
 * object under the key is a failure naming it, never an overwrite.
 */
export const fileS3Publisher: PublishHalf = {
  async exists(artifact, ctx) {
    const { bucket, item: it } = item(artifact, ctx);
    return ctx.transfer.run(() => bucket.presence(it));
  },
  async publish(artifact, ctx) {
    const { bucket, item: it } = item(artifact, ctx);
    // One transfer under the engine's limit (docs/transfers.md), like every push.
    await ctx.transfer.run(() => bucket.store(it, ctx.blobs.open(artifact.blobs[0]), {
      contentType: contentType(artifact),
      onBytes: (n) => ctx.progress({ type: 'bytes', bytes: n }),
    }));
  },
};
