import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { type Artifact, type SourceContext, IntegrityError, UpstreamError, UsageError, isAirgapError } from '@airgap/core';
import { S3Connection, SHA256_METADATA } from '@airgap/s3';
import type { FileSpec } from './spec.js';
import type { TreeEntry, TreeFile, TreeOrigin } from './tree.js';
import { unsafeRel } from './tree.js';

interface S3CacheEntry {
  etag: string;
  size: number;
  digest: string;
  contentType?: string;
  integrity?: Record<string, string>;
  verified: string;
}

/** One connection per configured name for the whole pack (its sockets are kept alive between objects). */
const connections = new Map<string, S3Connection>();

function connection(name: string, ctx: SourceContext, where: string): S3Connection {
  let c = connections.get(name);
  if (!c) {
    c = S3Connection.open(name, ctx.config, process.env, where, ctx.log);
    connections.set(name, c);
  }
  return c;
}

/** An ETag that is the MD5 of the bytes: a single-part upload without SSE-KMS/SSE-C (multipart ETags end in -N). */
const MD5_ETAG = /^"?([0-9a-f]{32})"?$/;

function parse(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(url);
  if (!m) throw new UsageError(`${url}: not an s3://BUCKET/PREFIX/ URL`, { subject: url });
  return { bucket: m[1], prefix: m[2] };
}

/**
 * `url: s3://BUCKET/PREFIX/` with `s3: NAME` (docs/backups.md): every object under the prefix
 * (ListObjectsV2, every page), each brought into the store with its content type. A second pack reuses the
 * cached copy of an object whose listed ETag and size did not change (no GET). While an object streams
 * in, an MD5 ETag and a `sha256` object metadata (what an airgap s3 target writes) are checked.
 */
export function s3Origin(spec: FileSpec, ctx: SourceContext): TreeOrigin {
  const { bucket, prefix } = parse(spec.url);
  const conn = connection(spec.s3!, ctx, `files entry ${spec.url}`);
  const keyOf = (e: TreeEntry) => prefix + e.rel;
  const etags = new Map<string, string | undefined>();
  return {
    display: spec.url,
    defaultPath: prefix,
    meta: { s3: spec.s3 },
    async list() {
      const out: TreeEntry[] = [];
      for await (const o of conn.list(bucket, prefix)) {
        const rel = o.key.slice(prefix.length);
        // A zero-byte key ending in / is a "folder" a console made: nothing to carry.
        if (rel.endsWith('/') && o.size === 0) continue;
        etags.set(rel, o.etag);
        const entry: TreeEntry = { rel, size: o.size, mtime: o.lastModified?.getTime() ?? 0 };
        if (unsafeRel(rel)) entry.refused = 'a key that is not a plain relative path (empty, . or .. segments, a leading /)';
        out.push(entry);
      }
      return out;
    },
    urlOf: (e) => conn.url(bucket, keyOf(e)),
    bring: (e, c) => bringObject(conn, bucket, keyOf(e), e.size, etags.get(e.rel), c),
  };
}

async function bringObject(conn: S3Connection, bucket: string, key: string, size: number, etag: string | undefined, ctx: SourceContext, expected?: string): Promise<TreeFile> {
  const url = conn.url(bucket, key);
  const ref = `files:s3:${conn.endpoint.host}/${bucket}/${key}`;
  const cached = etag ? await ctx.store.getRef<S3CacheEntry>(ref) : undefined;
  if (cached && cached.etag === etag && cached.size === size && (!expected || cached.digest === expected) && (await ctx.store.has(cached.digest))) {
    return { digest: cached.digest, size, contentType: cached.contentType, integrity: cached.integrity, verified: cached.verified };
  }
  if (ctx.dryRun) return { digest: expected ?? cached?.digest ?? 'sha256:' + '0'.repeat(64), size, verified: 'dry run: not downloaded' };
  // One transfer under the engine's limit (docs/transfers.md); a signed S3 GET is not resumed by Range.
  return ctx.transfer.run(() => downloadObject(conn, bucket, key, ref, ctx, expected));
}

async function downloadObject(conn: S3Connection, bucket: string, key: string, ref: string, ctx: SourceContext, expected: string | undefined): Promise<TreeFile> {
  const url = conn.url(bucket, key);
  const { body, info } = await conn.get(bucket, key, 'upstream', ctx.signal);
  const md5 = MD5_ETAG.exec(info.etag ?? '')?.[1];
  const metaSha = /^[0-9a-f]{64}$/.test(info.metadata[SHA256_METADATA] ?? '') ? 'sha256:' + info.metadata[SHA256_METADATA] : undefined;
  if (expected && metaSha && metaSha !== expected) {
    body.destroy();
    throw new IntegrityError(`${url}: its sha256 metadata says ${metaSha}, the bundle being packed expects ${expected}`, { subject: url });
  }
  const hash = createHash('md5');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  body.on('error', (e) => tap.destroy(e));
  let d;
  try {
    d = await ctx.store.put(body.pipe(tap), { digest: expected ?? metaSha, size: info.size, subject: url });
  } catch (e) {
    if (isAirgapError(e)) throw e;
    throw new UpstreamError(`${url}: the download broke off: ${(e as Error).message}`, { subject: url, hint: 'pack again; what was downloaded is kept only once it is complete', cause: e });
  }
  if (md5 && hash.digest('hex') !== md5) {
    throw new IntegrityError(`${url}: the bytes received do not match the object's ETag (MD5 ${md5})`, { subject: url, hint: 'the object changed while it was read, or the transfer corrupted it: pack again' });
  }
  const integrity = { ...(md5 ? { md5 } : {}), ...(metaSha ? { sha256: metaSha.slice(7) } : {}) };
  const verified = [md5 ? 'ETag (MD5) checked while streaming' : '', metaSha ? 'sha256 object metadata checked while streaming' : '', !md5 && !metaSha ? 'no upstream checksum (multipart ETag); sha256 recorded at pack' : 'sha256 recorded at pack']
    .filter(Boolean)
    .join('; ');
  const file: TreeFile = { digest: d.digest, size: d.size, contentType: info.contentType, integrity: Object.keys(integrity).length ? integrity : undefined, verified };
  if (info.etag) await ctx.store.setRef(ref, { etag: info.etag, size: d.size, digest: d.digest, contentType: info.contentType, integrity: file.integrity, verified } satisfies S3CacheEntry);
  return file;
}

/** fetch() of an S3 object whose blob left the cache since resolve: download again; it must be the same bytes. */
export async function fetchS3Object(artifact: Artifact, ctx: SourceContext): Promise<void> {
  const name = artifact.meta?.s3;
  if (typeof name !== 'string') throw new UpstreamError(`${artifact.upstream.url}: no S3 connection recorded for it`, { subject: artifact.upstream.url });
  const { bucket, prefix: key } = parse(artifact.upstream.url);
  await bringObject(connection(name, ctx, `files entry ${artifact.upstream.url}`), bucket, key, artifact.blobs[0].size, undefined, ctx, artifact.digest);
}
