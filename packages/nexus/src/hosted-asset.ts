import type { Readable } from 'node:stream';
import {
  type Descriptor, type Endpoint, type EndpointFormat, type Presence, type PublishContext, InternalError, TargetError, newSha256, safeUrl,
} from '@airgap/core';
import { type NexusApi, normalizeSha256 } from './api.js';
import type { EndpointServices } from './driver.js';
import { type FailureContext, TargetHttpError, describeFailure, isRedeployRefusal, serverMessage } from './failure.js';

/**
 * One file at a path of a hosted repository that takes plain uploads of the file's bytes: raw `PUT`
 * (docs/reference/nexus-api.md §9), helm `PUT <file>.tgz` (§4), yum `PUT <dirs>/<file>.rpm` (§6). The publish halves of
 * those formats share presence checks, uploads and the never-overwrite rule through it.
 */
export interface HostedAsset {
  endpoint: Endpoint;
  /** The REST API, when the endpoint is a Nexus repository. */
  nexus?: NexusApi;
  /** Path inside the repository, no leading slash. */
  path: string;
  url: string;
  /** How messages name it: `raw-hosted/tools/velero.tar.gz` (or the URL for a non-Nexus endpoint). */
  label: string;
  /** The artifact it carries, for messages (`file tools/velero.tar.gz`). */
  subject: string;
}

/** The asset at `path` (already checked to be a safe relative path) of the target's `format` endpoint. */
export function hostedAsset(ctx: PublishContext, format: EndpointFormat, path: string, subject: string): HostedAsset {
  const services = ctx.services as Partial<EndpointServices>;
  if (!services.endpoints) throw new InternalError(`target ${ctx.target.name} gave no endpoints to publish ${subject} to`);
  const endpoint = services.endpoints.endpoint(format);
  const rel = path.replace(/^\/+/, '');
  const url = endpoint.url + rel.split('/').map(encodeURIComponent).join('/');
  return {
    endpoint, path: rel, url, subject,
    nexus: endpoint.nexus ? services.nexus : undefined,
    label: endpoint.repository ? `${endpoint.repository}/${rel}` : safeUrl(url),
  };
}

export function assetFailureContext(a: HostedAsset, ctx: PublishContext, method: string): FailureContext {
  return { method, target: { name: ctx.target.name, config: ctx.target.config }, subject: a.label, repository: a.endpoint.repository, format: a.endpoint.format, secrets: a.endpoint.secrets() };
}

/**
 * The sha256 (hex) of what the repository stores at the asset's path. Asked of the search API first
 * (by the sha256 expected, then by path: docs/reference/nexus-api.md §10); `checksum.sha256` is optional there and
 * search indexes can lag behind uploads, so the last resort is to read the asset and hash it as it streams.
 */
export async function storedSha256(a: HostedAsset, expectedSha256: string, ctx: PublishContext): Promise<string> {
  const want = normalizeSha256(expectedSha256);
  if (a.nexus && a.endpoint.repository) {
    try {
      const same = await a.nexus.assetsBySha256(a.endpoint.repository, want);
      if (same.some((x) => x.path.replace(/^\/+/, '') === a.path)) return want;
      const at = await a.nexus.assetAtPath(a.endpoint.repository, a.path);
      if (at?.checksum?.sha256) return normalizeSha256(at.checksum.sha256);
    } catch (e) {
      // Without nx-search-read the search API answers 403; reading the asset still tells.
      if (!(e instanceof TargetHttpError && e.status === 403)) throw e;
      ctx.log.debug(`${a.label}: the search API refused (403); hashing the stored asset instead`);
    }
  }
  return ctx.transfer.run(async () => {
    const res = await ctx.http.request(a.url, { headers: a.endpoint.headers(), side: 'target' });
    if (res.status !== 200) throw await describeFailure(res, assetFailureContext(a, ctx, 'GET'));
    const h = newSha256();
    for await (const chunk of res.body) h.update(chunk as Uint8Array);
    return h.digest('hex');
  });
}

/** The never-overwrite failure (docs/design.md): same path, different bytes. */
export function assetConflict(a: HostedAsset, stored: string, expectedSha256: string, said?: string): TargetError {
  return new TargetError(`${a.label}: already exists with a different checksum (stored sha256 ${stored}, the bundle's ${a.subject} has ${normalizeSha256(expectedSha256)})${said ? ` — Nexus: ${said}` : ''}`, {
    subject: a.label,
    hint: 'airgap never overwrites a published asset: delete the old asset in Nexus (or publish under another path) if the new content is meant to replace it',
  });
}

/** HEAD, then the stored sha256: `present` when it matches, `absent` on 404, a TargetError when it differs. */
export async function assetPresence(a: HostedAsset, expectedSha256: string, ctx: PublishContext): Promise<Presence> {
  const status = await ctx.transfer.run(async () => {
    const res = await ctx.http.request(a.url, { method: 'HEAD', headers: a.endpoint.headers(), side: 'target' });
    if (res.status !== 200 && res.status !== 404) throw await describeFailure(res, assetFailureContext(a, ctx, 'HEAD'));
    await res.body.dump();
    return res.status;
  });
  if (status === 404) return 'absent';
  const stored = await storedSha256(a, expectedSha256, ctx);
  if (stored === normalizeSha256(expectedSha256)) return 'present';
  throw assetConflict(a, stored, expectedSha256);
}

/** What a push answered: done, or the write policy refused a redeploy (what the server said). */
export type PushOutcome = { refused?: undefined } | { refused: string };

/**
 * One push of bundle bytes as a transfer under the engine's one limit (docs/transfers.md), metered for
 * upload progress: `open` gives the request body (re-opened on each retry). 2xx is done; a 400 (or
 * `also` status) whose message is a redeploy refusal is returned for the caller to judge against the
 * stored checksum, outside the limit; any other answer throws naming the asset.
 */
export function pushUnderLimit(
  a: HostedAsset, ctx: PublishContext,
  req: { method: 'PUT' | 'POST'; url: string; headers: Record<string, string>; size: number; open: () => Readable; digest?: string; also?: (said: string) => boolean; status?: number[]; subject?: string },
): Promise<PushOutcome> {
  return ctx.transfer.run(async () => {
    const res = await ctx.http.request(req.url, {
      method: req.method,
      headers: { ...req.headers, 'content-length': String(req.size) },
      body: () => ctx.transfer.meter(req.open(), { subject: a.label, digest: req.digest, total: req.size }),
      side: 'target',
    });
    if (res.status >= 200 && res.status < 300) {
      await res.body.dump();
      return {};
    }
    if (res.status === 400 || req.status?.includes(res.status)) {
      const said = await serverMessage(res);
      if (isRedeployRefusal(said) || req.also?.(said)) return { refused: said };
      throw new TargetError(`${a.label}: ${req.method} ${safeUrl(req.url)}: HTTP ${res.status} rejected${said ? ` — ${said}` : ''}`, { subject: a.label });
    }
    throw await describeFailure(res, { ...assetFailureContext(a, ctx, req.method), ...(req.subject ? { subject: req.subject } : {}) });
  });
}

/**
 * Upload `blob` (streamed from the verified bundle, re-opened on each retry) to the asset's URL with
 * `PUT`. A redeploy refusal (400 "cannot be updated" / "does not allow updating assets") counts as done
 * only when the stored checksum matches (docs/design.md); otherwise it is the never-overwrite failure.
 */
export async function putAsset(a: HostedAsset, blob: Descriptor, ctx: PublishContext, opts: { contentType?: string } = {}): Promise<void> {
  const out = await pushUnderLimit(a, ctx, {
    method: 'PUT', url: a.url, size: blob.size, digest: blob.digest, open: () => ctx.blobs.open(blob),
    headers: { ...a.endpoint.headers(), 'content-type': opts.contentType ?? 'application/octet-stream' },
  });
  if (out.refused === undefined) return;
  const stored = await storedSha256(a, blob.digest, ctx);
  if (stored === normalizeSha256(blob.digest)) return;
  throw assetConflict(a, stored, blob.digest, out.refused);
}
