import { type Artifact, type EndpointPublishHalf, type PublishContext, TargetError, safeUrl } from '@airgap/core';
import { type HostedAsset, assetConflict, assetPresence, hostedAsset, normalizeSha256, pushUnderLimit, storedSha256 } from '@airgap/nexus';
import { nexusAssetPath } from './pool.js';
import { DEB_MEDIA_TYPE } from './source.js';

/** The .deb as Nexus apt-hosted stores it: `pool/<p>/<package>/<package>_<version>_<arch>.deb`. */
function debAsset(artifact: Artifact, ctx: PublishContext): HostedAsset {
  const a = hostedAsset(ctx, 'apt', nexusAssetPath(artifact), `apt ${artifact.name} ${artifact.version} [${artifact.platform}]`);
  if (!a.endpoint.nexus) {
    // There is no standard upload protocol for apt repositories: only Nexus apt-hosted takes uploads.
    throw new TargetError(`target ${ctx.target.name}: the apt endpoint ${safeUrl(a.endpoint.url)} is not a Nexus repository; apt packages go to Nexus apt-hosted or a dir: mirror`, {
      subject: safeUrl(a.endpoint.url),
      hint: 'map apt in repositories: of a nexus target, or unpack to a dir: mirror and serve it',
    });
  }
  return a;
}

/**
 * Nexus apt-hosted (docs/reference/nexus-api.md §5). Presence: the asset at the path Nexus stores the .deb under
 * (AptFacetHelper.buildAssetPath) with the same sha256; the same path with other bytes is a failure,
 * never an overwrite. Upload: `POST /repository/<repo>/` with the raw .deb as the body → 201; Nexus
 * reads the control file and regenerates and signs its own indexes.
 */
export const aptEndpointPublisher: EndpointPublishHalf = {
  format: () => 'apt',

  async exists(artifact, ctx) {
    return assetPresence(debAsset(artifact, ctx), artifact.digest, ctx);
  },

  async publish(artifact, ctx) {
    const a = debAsset(artifact, ctx);
    const deb = artifact.blobs[0];
    // A stream cannot be replayed: each attempt opens the verified blob anew.
    const out = await pushUnderLimit(a, ctx, {
      method: 'POST', url: a.endpoint.url, size: deb.size, digest: deb.digest, open: () => ctx.blobs.open(deb),
      headers: { ...a.endpoint.headers(), 'content-type': DEB_MEDIA_TYPE },
    });
    if (out.refused === undefined) return;
    // docs/reference/nexus-api.md §11: a redeploy refused by the write policy counts only when the stored bytes match.
    const stored = await storedSha256(a, deb.digest, ctx);
    if (stored === normalizeSha256(deb.digest)) return;
    throw assetConflict(a, stored, deb.digest, out.refused);
  },
};
