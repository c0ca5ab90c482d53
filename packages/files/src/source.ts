import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Artifact, type SourceContext, type SourceHalf, OCTET_STREAM, UpstreamError, IntegrityError, UsageError,
  failStatus, header, safeUrl,
} from '@airgap/core';
import type { FileSpec } from './spec.js';
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
 * A file's digest and size are only known from its bytes, so resolving downloads it into the cache.
 * With a `sha256` in the manifest a cached copy is used without any request; without one, the cached
 * ETag/Last-Modified makes the second pack a conditional GET answered with 304 (nothing downloaded).
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
        throw new UpstreamError(`file source ${origin.display}: not found`, { subject: origin.display, hint: 'check the path in the manifest (relative paths are relative to the manifest)', cause: e });
      }
      if (!st.isFile()) throw new UpstreamError(`file source ${origin.display}: not a regular file`, { subject: origin.display });
      if (ctx.dryRun && expected) return [make(expected, st.size, verifiedText)];
      const d = await put(ctx, createReadStream(origin.path, { highWaterMark: 1 << 20 }), expected, origin.display);
      return [make(d.digest, d.size, verifiedText)];
    }

    const cacheKey = 'files:' + origin.url.toString();
    if (ctx.dryRun) {
      const res = await ctx.transfer.run(async () => {
        const r = await ctx.http.request(origin.url, { method: 'HEAD', side: 'upstream', signal: ctx.signal });
        await r.body.dump();
        return r;
      });
      if (res.status !== 200) await failStatus(res, 'HEAD', 'upstream', notThere(res.status));
      const size = Number(header(res, 'content-length') ?? 0);
      const usable = expected ? undefined : await ctx.store.getRef<UrlCacheEntry>(cacheKey);
      return [make(expected ?? usable?.digest ?? 'sha256:' + '0'.repeat(64), size, verifiedText + ' (dry run: not downloaded)')];
    }
    // The transfer engine (docs/transfers.md): one limit, resumed on a cut, sha256 checked while it streams;
    // without a pinned sha256 the cached ETag/Last-Modified make it a conditional GET.
    const cached = expected ? undefined : await ctx.store.getRef<UrlCacheEntry>(cacheKey);
    let d;
    try {
      d = await ctx.transfer.fetch({ url: origin.url, digest: expected, subject: origin.display, cached, statusHint: notThere });
    } catch (e) {
      throw pinnedMismatch(e, expected, origin.display);
    }
    if (!d) throw new UpstreamError(`${origin.display}: no answer`, { subject: origin.display });
    if (!expected) {
      await ctx.store.setRef(cacheKey, { digest: d.digest, size: d.size, etag: d.etag, lastModified: d.lastModified } satisfies UrlCacheEntry);
    }
    return [make(d.digest, d.size, verifiedText)];
  },

  async fetch(artifact, ctx) {
    // resolve() already streamed the bytes into the store; a blob evicted since is fetched again.
    if (await ctx.store.has(artifact.digest)) return;
    const [again] = await fileSource.resolve({ url: artifact.upstream.url, sha256: artifact.digest.slice(7) }, ctx);
    if (again.digest !== artifact.digest) throw new IntegrityError(`${artifact.upstream.url}: changed while packing`, { subject: artifact.upstream.url });
  },
};

function notThere(status: number): string | undefined {
  return status === 404 ? 'the file is not at that URL: fix the manifest or the upstream' : undefined;
}

/** A pinned sha256 mismatch is an integrity failure (exit 3) like every other ecosystem's (docs/exit-codes.md), naming the URL and both digests. */
function pinnedMismatch(e: unknown, expected: string | undefined, display: string): unknown {
  if (e instanceof IntegrityError && expected) {
    return new IntegrityError(e.message, { subject: display, hint: 'the file at that URL is not the one the manifest pins: update sha256 only if you trust the new file', cause: e });
  }
  return e;
}

/** A local file is read, not transferred: straight into the store. */
async function put(ctx: SourceContext, stream: NodeJS.ReadableStream, expected: string | undefined, display: string) {
  try {
    return await ctx.store.put(stream as never, { digest: expected, subject: display });
  } catch (e) {
    throw pinnedMismatch(e, expected, display);
  }
}
