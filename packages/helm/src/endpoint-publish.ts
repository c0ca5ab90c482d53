import type { Artifact, EndpointPublishHalf, PublishContext } from '@airgap/core';
import { type HostedAsset, assetPresence, hostedAsset, putAsset } from '@airgap/nexus';
import { chartFileName } from './chart-file.js';
import type { ChartMeta } from './source.js';

function chartAssets(artifact: Artifact, ctx: PublishContext): { tgz: HostedAsset; prov?: HostedAsset } {
  const meta = artifact.meta as unknown as ChartMeta;
  // Since Nexus 3.71 helm uploads must go to the repository root (docs/reference/nexus-api.md §4).
  const file = chartFileName(artifact.name, artifact.version);
  const subject = `chart ${artifact.name}@${artifact.version}`;
  return {
    tgz: hostedAsset(ctx, 'helm', file, subject),
    prov: meta.prov ? hostedAsset(ctx, 'helm', file + '.prov', `${subject} provenance`) : undefined,
  };
}

/**
 * Charts into a Nexus helm-hosted repository (docs/reference/nexus-api.md §4): `PUT /repository/<repo>/<name>-<version>.tgz`
 * with the chart's bytes, and `PUT …/<file>.prov` for its provenance; Nexus regenerates index.yaml itself.
 * Presence is a HEAD plus the stored sha256; other bytes under the same name are a failure, never an overwrite.
 */
export const chartEndpointPublisher: EndpointPublishHalf = {
  format: () => 'helm',
  async exists(artifact, ctx) {
    const { tgz, prov } = chartAssets(artifact, ctx);
    const presence = await assetPresence(tgz, artifact.digest, ctx);
    if (presence === 'absent' || !prov) return presence;
    return assetPresence(prov, artifact.blobs[1].digest, ctx);
  },
  async publish(artifact, ctx) {
    const { tgz, prov } = chartAssets(artifact, ctx);
    await putAsset(tgz, artifact.blobs[0], ctx, { contentType: 'application/gzip' });
    if (prov) await putAsset(prov, artifact.blobs[1], ctx, { contentType: 'text/plain' });
  },
};
