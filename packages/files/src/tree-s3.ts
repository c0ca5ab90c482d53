import { type Artifact, type IntegrityCheck, type SourceContext, IntegrityError, UpstreamError, UsageError } from '@airgap/core';
import { S3Connection, type S3ObjectInfo, SHA256_METADATA, objectSend } from '@airgap/s3';
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
 * cached copy of an object whose listed ETag and size did not change (no GET). An MD5 ETag and a `sha256`
 * object metadata (what an airgap s3 target writes) are checked (downloadObject).
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
  return downloadObject(conn, bucket, key, ref, ctx, { size, etag, expected });
}

/**
 * One object through the transfer engine (docs/transfers.md): under the global limit, with byte progress,
 * resumed after a cut with `Range` + `If-Match` (objectSend), the size from the listing and the MD5 of a
 * single-part ETag checked while the bytes stream. A `sha256` object metadata is compared once the bytes
 * are in (the engine knows the digest only then; a mismatch is exit 3 and nothing is recorded for the key).
 */
async function downloadObject(
  conn: S3Connection, bucket: string, key: string, ref: string, ctx: SourceContext, want: { size: number; etag?: string; expected?: string },
): Promise<TreeFile> {
  const url = conn.url(bucket, key);
  const md5 = MD5_ETAG.exec(want.etag ?? '')?.[1];
  let info: S3ObjectInfo | undefined;
  const metaSha = () => (/^[0-9a-f]{64}$/.test(info?.metadata[SHA256_METADATA] ?? '') ? 'sha256:' + info!.metadata[SHA256_METADATA] : undefined);
  const send = objectSend(conn, bucket, key, {
    etag: want.etag,
    signal: ctx.signal,
    onInfo: (i) => {
      info = i;
      const sha = metaSha();
      if (want.expected && sha && sha !== want.expected) {
        throw new IntegrityError(`${url}: its sha256 metadata says ${sha}, the bundle being packed expects ${want.expected}`, { subject: url });
      }
    },
  });
  const integrity: IntegrityCheck | undefined = md5 ? { algorithm: 'md5', value: md5, encoding: 'hex', source: "the object's ETag (MD5)" } : undefined;
  const d = (await ctx.transfer.fetch({ url, digest: want.expected, size: want.size, integrity, subject: url, send }))!;
  const sha = metaSha();
  if (sha && sha !== d.digest) {
    throw new IntegrityError(`${url}: its sha256 metadata says ${sha}, the bytes received are ${d.digest}`, { subject: url, hint: 'the object changed while it was read, or it was stored with wrong metadata: pack again' });
  }
  const recorded = { ...(md5 ? { md5 } : {}), ...(sha ? { sha256: sha.slice(7) } : {}) };
  const verified = [md5 ? 'ETag (MD5) checked while streaming' : '', sha ? 'sha256 object metadata checked' : '', !md5 && !sha ? 'no upstream checksum (multipart ETag); sha256 recorded at pack' : 'sha256 recorded at pack']
    .filter(Boolean)
    .join('; ');
  const file: TreeFile = { digest: d.digest, size: d.size, contentType: info?.contentType, integrity: Object.keys(recorded).length ? recorded : undefined, verified };
  const etag = want.etag ?? d.etag;
  if (etag) await ctx.store.setRef(ref, { etag, size: d.size, digest: d.digest, contentType: file.contentType, integrity: file.integrity, verified } satisfies S3CacheEntry);
  return file;
}

/** fetch() of an S3 object whose blob left the cache since resolve: download again; it must be the same bytes. */
export async function fetchS3Object(artifact: Artifact, ctx: SourceContext): Promise<void> {
  const name = artifact.meta?.s3;
  if (typeof name !== 'string') throw new UpstreamError(`${artifact.upstream.url}: no S3 connection recorded for it`, { subject: artifact.upstream.url });
  const { bucket, prefix: key } = parse(artifact.upstream.url);
  await bringObject(connection(name, ctx, `files entry ${artifact.upstream.url}`), bucket, key, artifact.blobs[0].size, undefined, ctx, artifact.digest);
}
