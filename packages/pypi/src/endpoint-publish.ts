import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  type Artifact, type Endpoint, type EndpointPublishHalf, type EndpointResolver, type Presence, type PublishContext, TargetError,
  digestHex, failStatus, newSha256, safeUrl,
} from '@airgap/core';
import { parseCoreMetadata, twineFields } from './core-metadata.js';
import { parseHtmlPage } from './simple-index.js';
import type { PypiArtifactMeta } from './source.js';

/**
 * A pypi endpoint: a Nexus pypi-hosted repository (nexus-api.md §7) or any server that takes twine
 * uploads (pypiserver, devpi). Upload is the legacy API twine speaks: one multipart POST with
 * `:action=file_upload`, `protocol_version=1`, `content` and the core-metadata fields (warehouse
 * legacy.rst, twine `repository.py`); the body is streamed from the bundle, never held in memory.
 */

function endpointOf(ctx: PublishContext): Endpoint {
  const resolver = ctx.services.endpoints as EndpointResolver | undefined;
  if (!resolver) throw new TargetError(`target ${ctx.target.name} gives no endpoints for pypi`, { subject: ctx.target.name });
  return resolver.endpoint('pypi');
}

function metaOf(a: Artifact): PypiArtifactMeta {
  return a.meta as unknown as PypiArtifactMeta;
}

/** Where Nexus stores a pypi file (PyPiPathUtils: `packages/<normalized-name>/<version>/<file>`). */
export function nexusAssetPath(a: Artifact): string {
  const version = String(metaOf(a).metadata?.version ?? a.version);
  return `packages/${a.name}/${version}/${metaOf(a).filename}`;
}

/** The form fields, in twine's order, without `content`. */
export function twineUploadFields(a: Artifact, metadataText?: string): [string, string][] {
  const meta = metaOf(a);
  const fields = metadataText ? twineFields(parseCoreMetadata(metadataText), true) : { ...(meta.metadata ?? {}) };
  const md = metadataText ? parseCoreMetadata(metadataText) : undefined;
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

async function readSmall(ctx: PublishContext, a: Artifact): Promise<string | undefined> {
  const blob = a.blobs[1];
  if (!blob) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of ctx.blobs.open(blob)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function quoteName(s: string): string {
  return s.replace(/["\r\n\\]/g, (c) => encodeURIComponent(c));
}

function multipart(ctx: PublishContext, a: Artifact, fields: [string, string][]): { boundary: string; length: number; body: () => Readable } {
  const boundary = '----airgap' + randomBytes(12).toString('hex');
  const head = Buffer.from(
    fields.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${quoteName(k)}"\r\n\r\n${v}\r\n`).join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="content"; filename="${quoteName(metaOf(a).filename)}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const file = a.blobs[0];
  async function* gen() {
    yield head;
    yield* ctx.blobs.open(file);
    yield tail;
  }
  return { boundary, length: head.length + file.size + tail.length, body: () => Readable.from(gen()) };
}

/** The part of @airgap/nexus's NexusApi (`ctx.services.nexus`) this publisher uses. */
interface NexusAssetLookup {
  assetsBySha256(repository: string, sha256: string): Promise<{ path: string }[]>;
}

/**
 * Presence in a Nexus pypi-hosted repository by asset path + sha256 (SPEC §7): HEAD the path Nexus
 * stores the file at; if something is there, the search API must know an asset of this sha256 at that
 * path. The search index can lag behind a fresh upload, so a miss is settled by hashing the stored asset.
 */
async function nexusPresence(a: Artifact, ep: Endpoint, ctx: PublishContext): Promise<Presence> {
  const path = nexusAssetPath(a);
  const url = ep.url + path.split('/').map(encodeURIComponent).join('/');
  const head = await ctx.http.request(url, { method: 'HEAD', headers: ep.headers(), side: 'target' });
  await head.body.dump();
  if (head.status === 404) return 'absent';
  if (head.status !== 200) return failStatus(head, 'HEAD', 'target');
  const sha = digestHex(a.blobs[0].digest);
  const hits = await assetsBySha256(ep, ctx, sha);
  if (hits.some((h) => h.path.replace(/^\//, '') === path)) return 'present';
  const stored = await sha256At(url, ep, ctx);
  if (stored === sha) return 'present';
  throw new TargetError(`${safeUrl(url)} already exists with a different checksum (${stored}) than ${metaOf(a).filename} (${sha})`, {
    subject: safeUrl(url),
    hint: 'a package file never changes under the same name: find out where the other file came from before deleting it',
  });
}

async function assetsBySha256(ep: Endpoint, ctx: PublishContext, sha: string): Promise<{ path: string }[]> {
  const api = ctx.services.nexus as NexusAssetLookup | undefined;
  if (api && ep.repository) return api.assetsBySha256(ep.repository, sha);
  // No NexusApi in the services (an older driver): the same REST call (nexus-api.md §10).
  const at = ep.url.indexOf('/repository/');
  const search = new URL('service/rest/v1/search/assets', at >= 0 ? ep.url.slice(0, at + 1) : new URL('/', ep.url));
  search.searchParams.set('repository', ep.repository ?? '');
  search.searchParams.set('sha256', sha);
  const res = await ctx.http.request(search, { headers: { ...ep.headers(), accept: 'application/json' }, side: 'target' });
  if (res.status !== 200) await failStatus(res, 'GET', 'target');
  return (((await res.body.json()) as { items?: { path?: string }[] }).items ?? []).filter((i): i is { path: string } => typeof i.path === 'string');
}

async function sha256At(url: string, ep: Endpoint, ctx: PublishContext): Promise<string> {
  const res = await ctx.http.request(url, { headers: ep.headers(), side: 'target' });
  if (res.status !== 200) await failStatus(res, 'GET', 'target');
  const h = newSha256();
  for await (const chunk of res.body) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A non-Nexus server: its own simple page says whether the file is there, and with which hash. */
async function simplePresence(a: Artifact, ep: Endpoint, ctx: PublishContext): Promise<Presence> {
  const url = `${ep.url}simple/${a.name}/`;
  const res = await ctx.http.request(url, { headers: { ...ep.headers(), accept: 'text/html' }, side: 'target' });
  if (res.status === 404) {
    await res.body.dump();
    return 'absent';
  }
  if (res.status !== 200) await failStatus(res, 'GET', 'target');
  const file = parseHtmlPage(await res.body.text(), res.url).find((f) => f.filename === metaOf(a).filename);
  if (!file) return 'absent';
  if (!file.hashes.sha256 || 'sha256:' + file.hashes.sha256 === a.blobs[0].digest) return 'present';
  throw new TargetError(`${safeUrl(url)} lists ${file.filename} with sha256 ${file.hashes.sha256}, not ${digestHex(a.blobs[0].digest)}`, { subject: safeUrl(url) });
}

export const pypiEndpointPublisher: EndpointPublishHalf = {
  format: () => 'pypi',

  async exists(a, ctx) {
    const ep = endpointOf(ctx);
    return ep.nexus ? nexusPresence(a, ep, ctx) : simplePresence(a, ep, ctx);
  },

  async publish(a, ctx) {
    const ep = endpointOf(ctx);
    const fields = twineUploadFields(a, await readSmall(ctx, a));
    const body = multipart(ctx, a, fields);
    const res = await ctx.http.request(ep.url, {
      method: 'POST',
      headers: { ...ep.headers(), 'content-type': `multipart/form-data; boundary=${body.boundary}`, 'content-length': String(body.length) },
      body: body.body,
      side: 'target',
    });
    if (res.status >= 200 && res.status < 300) {
      await res.body.dump();
      return;
    }
    if (res.status === 400 || res.status === 409) {
      const text = await res.body.text();
      // nexus-api.md §11: a redeploy to ALLOW_ONCE is a 400; it is `present` only if the stored checksum matches.
      if (/cannot be updated|does not allow updating|read-only|already exists/i.test(text) && (await this.exists(a, ctx)) === 'present') return;
      throw new TargetError(`POST ${safeUrl(ep.url)} (${metaOf(a).filename}): HTTP ${res.status} — ${text.slice(0, 300).replace(/\s+/g, ' ')}`, { subject: safeUrl(ep.url) });
    }
    await failStatus(res, 'POST', 'target');
  },
};
