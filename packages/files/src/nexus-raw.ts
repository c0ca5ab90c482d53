import {
  type Artifact, type Endpoint, type EndpointPublishHalf, type PublishContext, InternalError, TargetError, newSha256, safeUrl,
} from '@airgap/core';
import { type EndpointServices, type FailureContext, type NexusApi, describeFailure, isRedeployRefusal, normalizeSha256, serverMessage } from '@airgap/nexus';
import { checkRelativePath } from './target-path.js';

interface RawTarget {
  endpoint: Endpoint;
  nexus?: NexusApi;
  /** Path inside the raw repository (no leading slash). */
  path: string;
  url: string;
  /** `raw-hosted/tools/velero.tar.gz`: how messages name the asset. */
  asset: string;
}

function rawTarget(artifact: Artifact, ctx: PublishContext): RawTarget {
  const services = ctx.services as Partial<EndpointServices>;
  if (!services.endpoints) throw new InternalError(`files: target ${ctx.target.name} gave no endpoints to publish ${artifact.name} to`);
  const endpoint = services.endpoints.endpoint('raw');
  // The path comes from the signed, verified index; still checked so it stays inside the repository.
  const path = checkRelativePath(String(artifact.meta?.path ?? artifact.name));
  const url = endpoint.url + path.split('/').map(encodeURIComponent).join('/');
  const asset = endpoint.repository ? `${endpoint.repository}/${path}` : safeUrl(url);
  return { endpoint, nexus: endpoint.nexus ? services.nexus : undefined, path, url, asset };
}

function failureContext(t: RawTarget, ctx: PublishContext, method: string): FailureContext {
  return { method, target: { name: ctx.target.name, config: ctx.target.config }, subject: t.asset, repository: t.endpoint.repository, format: 'raw', secrets: t.endpoint.secrets() };
}

/**
 * The sha256 of what the repository stores at the artifact's path. Asked of the search API first
 * (by the sha256 we expect, then by path: nexus-api.md §10); `checksum.sha256` is optional there and
 * search indexes can lag behind uploads, so the last resort is to read the asset and hash it.
 */
async function storedSha256(t: RawTarget, want: string, ctx: PublishContext): Promise<string> {
  if (t.nexus && t.endpoint.repository) {
    const same = await t.nexus.assetsBySha256(t.endpoint.repository, want);
    if (same.some((a) => a.path.replace(/^\/+/, '') === t.path)) return want;
    const at = await t.nexus.assetAtPath(t.endpoint.repository, t.path);
    if (at?.checksum?.sha256) return normalizeSha256(at.checksum.sha256);
  }
  const res = await ctx.http.request(t.url, { headers: t.endpoint.headers(), side: 'target' });
  if (res.status !== 200) throw await describeFailure(res, failureContext(t, ctx, 'GET'));
  const h = newSha256();
  for await (const chunk of res.body) h.update(chunk as Uint8Array);
  return h.digest('hex');
}

function conflict(t: RawTarget, artifact: Artifact, stored: string, said?: string): TargetError {
  return new TargetError(`${t.asset}: already exists with a different checksum (stored sha256 ${stored}, the bundle's ${artifact.name} has ${normalizeSha256(artifact.digest)})${said ? ` — Nexus: ${said}` : ''}`, {
    subject: t.asset,
    hint: 'airgap never overwrites a published asset: delete the old asset in Nexus (or choose another path in the manifest) if the new file is meant to replace it',
  });
}

/**
 * Files into a raw repository (nexus-api.md §9): `PUT /repository/<raw>/<path>` → 201. Presence is a
 * HEAD plus the stored sha256; the same path with other content is a failure, never an overwrite.
 */
export const fileNexusRawPublisher: EndpointPublishHalf = {
  format: () => 'raw',

  async exists(artifact, ctx) {
    const t = rawTarget(artifact, ctx);
    const res = await ctx.http.request(t.url, { method: 'HEAD', headers: t.endpoint.headers(), side: 'target' });
    await res.body.dump();
    if (res.status === 404) return 'absent';
    if (res.status !== 200) throw await describeFailure(res, failureContext(t, ctx, 'HEAD'));
    const want = normalizeSha256(artifact.digest);
    const stored = await storedSha256(t, want, ctx);
    if (stored === want) return 'present';
    throw conflict(t, artifact, stored);
  },

  async publish(artifact, ctx) {
    const t = rawTarget(artifact, ctx);
    const blob = artifact.blobs[0];
    const res = await ctx.http.request(t.url, {
      method: 'PUT',
      headers: { ...t.endpoint.headers(), 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      // A fresh, verified stream per attempt: a retried PUT cannot replay a consumed one.
      body: () => ctx.blobs.open(blob),
      side: 'target',
    });
    if (res.status === 201 || res.status === 200 || res.status === 204) {
      await res.body.dump();
      return;
    }
    if (res.status === 400) {
      const said = await serverMessage(res);
      if (isRedeployRefusal(said)) {
        // SPEC §7: "cannot be updated" counts as done only when the stored checksum matches ours.
        const want = normalizeSha256(artifact.digest);
        const stored = await storedSha256(t, want, ctx);
        if (stored === want) return;
        throw conflict(t, artifact, stored, said);
      }
      throw new TargetError(`${t.asset}: PUT ${safeUrl(t.url)}: HTTP 400 rejected — ${said}`, { subject: t.asset });
    }
    throw await describeFailure(res, failureContext(t, ctx, 'PUT'));
  },
};
