import {
  type Artifact, type Endpoint, type EndpointPublishHalf, type EndpointResolver, type PublishContext,
  TargetError, digestHex, failStatus, safeUrl,
} from '@airgap/core';
import { nexusAssetPath } from './pool.js';
import { DEB_MEDIA_TYPE } from './source.js';

function endpointOf(ctx: PublishContext): Endpoint {
  const resolver = ctx.services.endpoints as EndpointResolver | undefined;
  if (!resolver) throw new TargetError(`target ${ctx.target.name} offers no endpoints for apt`, { subject: ctx.target.name });
  const ep = resolver.endpoint('apt');
  if (!ep.nexus) {
    // There is no standard upload protocol for apt repositories: only Nexus apt-hosted takes uploads.
    throw new TargetError(`target ${ctx.target.name}: the apt endpoint ${safeUrl(ep.url)} is not a Nexus repository; apt packages can only be published to Nexus apt-hosted or a dir: mirror`, {
      subject: safeUrl(ep.url),
    });
  }
  return ep;
}

/** `<nexus>/repository/<repo>/` → the Nexus base URL and repository name (SPEC §4). */
function nexusBase(ep: Endpoint): { base: string; repository: string } {
  const m = /^(.*)\/repository\/([^/]+)\/$/.exec(ep.url);
  if (!m) throw new TargetError(`apt endpoint ${safeUrl(ep.url)} is not of the form <nexus>/repository/<repo>/`, { subject: safeUrl(ep.url) });
  return { base: m[1] + '/', repository: ep.repository ?? decodeURIComponent(m[2]) };
}

interface AssetXO {
  path?: string;
  checksum?: { sha256?: string };
}

/** Assets of the repository with this sha256 (nexus-api.md §10 `GET /v1/search/assets`). */
async function assetsBySha256(ep: Endpoint, sha256: string, ctx: PublishContext): Promise<AssetXO[]> {
  const { base, repository } = nexusBase(ep);
  const url = new URL('service/rest/v1/search/assets', base);
  url.searchParams.set('repository', repository);
  url.searchParams.set('sha256', sha256);
  const res = await ctx.http.request(url, { headers: { ...ep.headers(), accept: 'application/json' }, side: 'target' });
  if (res.status !== 200) await failStatus(res, 'GET', 'target');
  const body = (await res.body.json()) as { items?: AssetXO[] };
  return body.items ?? [];
}

const samePath = (a: string | undefined, b: string) => (a ?? '').replace(/^\/+/, '') === b;

/**
 * Nexus apt-hosted (nexus-api.md §5): presence is the asset at the path Nexus stores the .deb under
 * with the same sha256; an asset at that path with other content is a conflict, never overwritten.
 * Upload is `POST /repository/<repo>/` with the raw .deb as the body (201).
 */
export const aptNexusPublisher: EndpointPublishHalf = {
  format: () => 'apt',

  async exists(artifact, ctx) {
    const ep = endpointOf(ctx);
    const path = nexusAssetPath(artifact);
    const hex = digestHex(artifact.digest);
    const found = await assetsBySha256(ep, hex, ctx);
    if (found.some((a) => samePath(a.path, path))) return 'present';
    const head = await ctx.http.request(new URL(path, ep.url), { method: 'HEAD', headers: ep.headers(), side: 'target' });
    await head.body.dump();
    if (head.status === 404) return 'absent';
    if (head.status === 200) {
      throw new TargetError(`${safeUrl(new URL(path, ep.url))} already holds different content than ${artifact.name} ${artifact.version} (${artifact.digest})`, {
        subject: safeUrl(new URL(path, ep.url)),
        hint: 'airgap never overwrites a published package: delete the old asset in Nexus if the new one is meant to replace it',
      });
    }
    return failStatus(head, 'HEAD', 'target');
  },

  async publish(artifact, ctx) {
    const ep = endpointOf(ctx);
    const deb = artifact.blobs[0];
    const res = await ctx.http.request(ep.url, {
      method: 'POST',
      headers: { ...ep.headers(), 'content-type': DEB_MEDIA_TYPE, 'content-length': String(deb.size) },
      // A stream cannot be replayed: each attempt opens the verified blob anew.
      body: () => ctx.blobs.open(deb),
      side: 'target',
    });
    if (res.status === 201 || res.status === 200 || res.status === 204) {
      await res.body.dump();
      return;
    }
    if (res.status === 400) {
      const text = await res.body.text();
      // nexus-api.md §11: a redeploy refused by the write policy counts only when the stored bytes match.
      if (/cannot be updated|does not allow updating|read-only/i.test(text)) {
        const path = nexusAssetPath(artifact);
        if ((await assetsBySha256(ep, digestHex(artifact.digest), ctx)).some((a) => samePath(a.path, path))) return;
        throw new TargetError(`${safeUrl(ep.url)} refused ${artifact.name} ${artifact.version}: the repository already holds other content at ${path}`, { subject: safeUrl(ep.url) });
      }
      throw new TargetError(`POST ${safeUrl(ep.url)} (${artifact.name} ${artifact.version}): HTTP 400 — ${text.slice(0, 300).replace(/\s+/g, ' ')}`, { subject: safeUrl(ep.url) });
    }
    await failStatus(res, 'POST', 'target');
  },
};

