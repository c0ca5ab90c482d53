import { stat } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Artifact, type SourceHalf, OCTET_STREAM, UpstreamError, IntegrityError, UsageError,
  header, newSha256, safeUrl,
} from '@airgap/core';
import type { FileSpec } from './spec.js';
import { cacheLocalFile } from './local-copy.js';
import { targetPath } from './target-path.js';

interface UrlCacheEntry {
  digest: string;
  size: number;
  etag?: string;
  lastModified?: string;
}

type Origin = { kind: 'local'; path: string; display: string } | { kind: 'http'; url: URL; display: string };

function originOf(spec: FileSpec, manifestDir: string): Origin {
  const u = spec.url;
  if (/^https?:\/\//i.test(u)) {
    const url = new URL(u);
    return { kind: 'http', url, display: safeUrl(url) };
  }
  // `ftp://host/x` is not the local path `ftp:/host/x`: any other scheme is refused, not read from disk.
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(u)?.[1]?.toLowerCase();
  if (scheme && scheme !== 'file') {
    throw new UsageError(`files url ${JSON.stringify(u)}: ${scheme}:// is not supported`, { subject: u, hint: 'use an https://, http:// or file:// URL, or a local path (docs/manifest.md)' });
  }
  const path = u.startsWith('file://') ? fileURLToPath(u) : isAbsolute(u) ? u : resolvePath(manifestDir, u);
  return { kind: 'local', path, display: u.startsWith('file://') ? u : path };
}

/**
 * Resolving a URL asks the server for its size (HEAD) and downloads nothing; the download phase fetches
 * the bytes through the transfer engine. With a `sha256` in the manifest a cached copy is used without
 * any request; without one, the cached ETag/Last-Modified makes the HEAD conditional: a 304 reuses the
 * cached copy (nothing downloaded), anything else downloads it again in the download phase.
 */
export const fileSource: SourceHalf<FileSpec> = {
  async resolve(spec, ctx) {
    const origin = originOf(spec, ctx.manifestDir);
    const name = targetPath(origin.kind === 'http' ? origin.url.pathname : origin.path, spec.path);
    const expected = spec.sha256 ? 'sha256:' + spec.sha256.toLowerCase() : undefined;
    const integrity = spec.sha256 ? { sha256: spec.sha256.toLowerCase() } : undefined;
    const make = (digest: string, size: number, verified: string): Artifact => ({
      kind: 'file', name, version: '', digest,
      blobs: [{ mediaType: OCTET_STREAM, digest, size }],
      upstream: { url: origin.display, integrity, verified },
      meta: { path: name },
    });
    const verifiedText = expected ? 'sha256 from manifest, checked while streaming' : 'no upstream checksum given; sha256 recorded at pack';

    if (expected && (await ctx.store.has(expected))) {
      return [make(expected, (await ctx.store.size(expected))!, verifiedText)];
    }
    if (origin.kind === 'local') {
      let st;
      try {
        st = await stat(origin.path);
      } catch (e) {
        throw new UsageError(`file source ${origin.display}: not found`, { subject: origin.display, hint: 'check the path in the manifest (relative paths are relative to the manifest)', cause: e });
      }
      if (!st.isFile()) throw new UpstreamError(`file source ${origin.display}: not a regular file`, { subject: origin.display });
      if (ctx.dryRun && expected) return [make(expected, st.size, verifiedText)];
      let d;
      try {
        d = await cacheLocalFile(ctx, origin.path, { digest: expected, subject: origin.display });
      } catch (e) {
        throw pinnedMismatch(e, expected, origin.display);
      }
      return [make(d.digest, d.size, verifiedText)];
    }

    const cacheKey = 'files:' + origin.url.toString();
    const cached = expected ? undefined : await ctx.store.getRef<UrlCacheEntry>(cacheKey);
    const usable = cached && (await ctx.store.has(cached.digest)) ? cached : undefined;
    // Resolving only asks (HEAD, conditional when the cache holds a copy); the bytes move in the download
    // phase (fetch below), where they show as byte progress (docs/transfers.md).
    const res = await ctx.transfer.run(async () => {
      const headers: Record<string, string> = {};
      if (usable?.etag) headers['if-none-match'] = usable.etag;
      else if (usable?.lastModified) headers['if-modified-since'] = usable.lastModified;
      const r = await ctx.http.request(origin.url, { method: 'HEAD', headers, side: 'upstream', signal: ctx.signal });
      // A URL the upstream does not have is a manifest mistake (exit 2, docs/exit-codes.md), not "retry later".
      if (r.status === 404 || r.status === 410) {
        await r.body.dump();
        throw new UsageError(`file ${origin.display}: the upstream does not have it (HEAD: HTTP ${r.status})`, { subject: origin.display, hint: notThere(r.status) });
      }
      await r.body.dump();
      return r;
    });
    if (res.status === 304 && usable) return [make(usable.digest, usable.size, verifiedText)];
    // A server that answers HEAD otherwise (405, a URL signed for GET only) is simply asked by the GET.
    const length = res.status === 200 ? Number(header(res, 'content-length') ?? NaN) : NaN;
    const size = Number.isSafeInteger(length) && length >= 0 ? length : 0;
    if (ctx.dryRun) return [make(expected ?? usable?.digest ?? 'sha256:' + '0'.repeat(64), size, verifiedText + ' (dry run: not downloaded)')];
    // Without a pinned sha256 the digest is known only from the bytes: a placeholder (unique per URL) that
    // fetch replaces with the real digest and size once the download is checked.
    const digest = expected ?? 'sha256:' + newSha256().update('airgap-pending\0' + origin.url.toString()).digest('hex');
    const a = make(digest, size, verifiedText);
    a.meta = { ...a.meta, url: origin.url.toString(), ...(expected ? {} : { pending: true }) };
    return [a];
  },

  // A URL's size is the HEAD's estimate (and without a sha256 its digest a placeholder) until fetch has
  // the bytes, and fetch drops the URL from meta: only a local file is final after resolve.
  pending: (artifact) => Boolean((artifact.meta as { url?: string } | undefined)?.url),

  async fetch(artifact, ctx) {
    const meta = artifact.meta as { path: string; url?: string; pending?: boolean };
    if (!meta.pending && (await ctx.store.has(artifact.digest))) return;
    if (!meta.url) {
      // A local file whose copy the cache lost since resolve: read it again, it must be the same bytes.
      const [again] = await fileSource.resolve({ url: artifact.upstream.url, sha256: artifact.digest.slice(7) }, ctx);
      if (again.digest !== artifact.digest) throw new IntegrityError(`${artifact.upstream.url}: changed while packing`, { subject: artifact.upstream.url });
      return;
    }
    const url = new URL(meta.url);
    const expected = meta.pending ? undefined : artifact.digest;
    let d;
    try {
      // The HEAD's length is only an estimate (for policy and progress): the GET's answer is what counts.
      d = await ctx.transfer.fetch({ url, digest: expected, subject: artifact.upstream.url, statusHint: notThere });
    } catch (e) {
      throw pinnedMismatch(e, expected, artifact.upstream.url);
    }
    if (!d) throw new UpstreamError(`${artifact.upstream.url}: no answer`, { subject: artifact.upstream.url });
    if (meta.pending) {
      await ctx.store.setRef('files:' + meta.url, { digest: d.digest, size: d.size, etag: d.etag, lastModified: d.lastModified } satisfies UrlCacheEntry);
    }
    // The real digest and size replace the placeholder (the index records what was downloaded and checked).
    artifact.digest = d.digest;
    artifact.blobs[0] = { ...artifact.blobs[0], digest: d.digest, size: d.size };
    artifact.meta = { path: meta.path };
  },
};

function notThere(status: number): string | undefined {
  return status === 404 || status === 410 ? 'the file is not at that URL: fix the manifest or the upstream' : undefined;
}

/** A pinned sha256 mismatch is an integrity failure (exit 3) like every other ecosystem's (docs/exit-codes.md), naming the URL and both digests. */
function pinnedMismatch(e: unknown, expected: string | undefined, display: string): unknown {
  if (e instanceof IntegrityError && expected) {
    return new IntegrityError(e.message, { subject: display, hint: 'the file at that URL is not the one the manifest pins: update sha256 only if you trust the new file', cause: e });
  }
  return e;
}
