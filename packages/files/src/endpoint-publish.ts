import type { Artifact, EndpointPublishHalf, PublishContext } from '@airgap/core';
import { type HostedAsset, assetPresence, hostedAsset, putAsset } from '@airgap/nexus';
import { checkRelativePath } from './target-path.js';

function rawAsset(artifact: Artifact, ctx: PublishContext): HostedAsset {
  // The path comes from the signed, verified index; still checked so it stays inside the repository.
  const path = checkRelativePath(String(artifact.meta?.path ?? artifact.name));
  return hostedAsset(ctx, 'raw', path, `file ${artifact.name}`);
}

/**
 * Files into a raw repository (docs/reference/nexus-api.md §9): `PUT /repository/<raw>/<path>` → 201. Presence is a
 * HEAD plus the stored sha256; the same path with other content is a failure, never an overwrite.
 */
export const fileEndpointPublisher: EndpointPublishHalf = {
  format: () => 'raw',
  async exists(artifact, ctx) {
    return assetPresence(rawAsset(artifact, ctx), artifact.digest, ctx);
  },
  async publish(artifact, ctx) {
    await putAsset(rawAsset(artifact, ctx), artifact.blobs[0], ctx);
  },
};
