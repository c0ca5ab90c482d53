import {
  type Artifact, type EndpointPublishHalf, type Presence, type PublishContext, TargetError, artifactLabel, digestHex,
} from '@airgap/core';
import {
  type HostedAsset, type UploadPart, assetConflict, assetFailureContext, assetPresence, describeFailure,
  hostedAsset, multipartBody, pushUnderLimit, storedSha256,
} from '@airgap/nexus';
import { parseCoreMetadata, twineFields } from './core-metadata.js';
import { parseHtmlPage } from './simple-index.js';
import type { PypiArtifactMeta } from './source.js';

/**
 * A pypi endpoint: a Nexus pypi-hosted repository (docs/reference/nexus-api.md §7) or any server that takes twine
 * uploads (pypiserver, devpi). Upload is the legacy API twine speaks: one multipart POST to the
 * repository root with `:action=file_upload`, `protocol_version=1`, the core-metadata fields and the
 * file as `content` (warehouse legacy.rst, twine `repository.py`), streamed from the bundle.
 */

function metaOf(a: Artifact): PypiArtifactMeta {
  return a.meta as unknown as PypiArtifactMeta;
}

/** Where Nexus stores a pypi file (PyPiPathUtils: `packages/<normalized-name>/<version>/<file>`). */
export function nexusAssetPath(a: Artifact): string {
  return `packages/${a.name}/${a.version}/${metaOf(a).filename}`;
}

function asset(a: Artifact, ctx: PublishContext): HostedAsset {
  return hostedAsset(ctx, 'pypi', nexusAssetPath(a), artifactLabel(a));
}

/** The form fields twine sends, in its order, without `content` (`metadataText`: the carried `.metadata`, for the description). */
export function twineUploadFields(a: Artifact, metadataText?: string): [string, string][] {
  const meta = metaOf(a);
  const md = metadataText ? parseCoreMetadata(metadataText) : undefined;
  const fields = md ? twineFields(md, true) : { ...(meta.metadata ?? {}) };
  const name = md?.fields.get('name')?.[0] ?? String((a.meta as Record<string, unknown>).displayName ?? a.name);
  const version = md?.fields.get('version')?.[0] ?? a.version;
  const out: [string, string][] = [
    [':action', 'file_upload'],
    ['protocol_version', '1'],
    ['name', name],
    ['version', version],
    ['filetype', meta.filetype],
    ['pyversion', meta.pyversion],
    ['metadata_version', String(fields.metadata_version ?? '2.1')],
  ];
  for (const [k, v] of Object.entries(fields)) {
    if (k === 'metadata_version') continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
  }
  out.push(['sha256_digest', digestHex(a.blobs[0].digest)]);
  return out;
}

/** The `.metadata` blob is a few KiB of text: read whole, for the description twine also sends. */
async function metadataText(ctx: PublishContext, a: Artifact): Promise<string | undefined> {
  const blob = a.blobs[1];
  if (!blob) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of ctx.blobs.open(blob)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A non-Nexus server: its own simple page says whether the file is there, and with which hash. */
async function simplePresence(a: Artifact, target: HostedAsset, ctx: PublishContext): Promise<Presence> {
  const url = `${target.endpoint.url}simple/${a.name}/`;
  const page = await ctx.transfer.run(async () => {
    const res = await ctx.http.request(url, { headers: { ...target.endpoint.headers(), accept: 'text/html' }, side: 'target' });
    if (res.status === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.status !== 200) throw await describeFailure(res, { ...assetFailureContext(target, ctx, 'GET'), subject: artifactLabel(a) });
    return { text: await res.body.text(), url: res.url };
  });
  if (!page) return 'absent';
  const file = parseHtmlPage(page.text, page.url).find((f) => f.filename === metaOf(a).filename);
  if (!file) return 'absent';
  if (!file.hashes.sha256 || 'sha256:' + file.hashes.sha256 === a.blobs[0].digest) return 'present';
  throw new TargetError(`${url} lists ${file.filename} with sha256 ${file.hashes.sha256}, not the bundle's ${digestHex(a.blobs[0].digest)}`, {
    subject: url,
    hint: 'airgap never overwrites a published file: remove the other file from that server if the new one is meant to replace it',
  });
}

export const pypiEndpointPublisher: EndpointPublishHalf = {
  format: () => 'pypi',

  /** Nexus: HEAD of the stored path, then the stored sha256 (search API, else the bytes): docs/design.md presence by path + sha256. */
  async exists(a, ctx) {
    const target = asset(a, ctx);
    return target.endpoint.nexus ? assetPresence(target, a.blobs[0].digest, ctx) : simplePresence(a, target, ctx);
  },

  async publish(a, ctx) {
    const target = asset(a, ctx);
    const file = a.blobs[0];
    const parts: UploadPart[] = [
      ...twineUploadFields(a, await metadataText(ctx, a)).map(([name, value]) => ({ name, value })),
      { name: 'content', filename: metaOf(a).filename, size: file.size, open: () => ctx.blobs.open(file) },
    ];
    const body = multipartBody(parts);
    const out = await pushUnderLimit(target, ctx, {
      method: 'POST', url: target.endpoint.url, size: body.length, digest: file.digest, open: () => body.open(),
      headers: { ...target.endpoint.headers(), 'content-type': body.contentType },
      status: [409], also: (said) => /already exists/i.test(said), subject: artifactLabel(a),
    });
    if (out.refused === undefined) return;
    // docs/reference/nexus-api.md §11: a redeploy refused by the write policy is `present` only if the stored checksum matches.
    const stored = target.endpoint.nexus ? await storedSha256(target, file.digest, ctx) : undefined;
    if (stored === digestHex(file.digest) || (!target.endpoint.nexus && (await simplePresence(a, target, ctx)) === 'present')) return;
    throw assetConflict(target, stored ?? 'unknown', file.digest, out.refused);
  },
};
