import type { Readable } from 'node:stream';
import { type SentResponse, TargetError, UpstreamError } from '@airgap/core';
import type { S3Connection, S3ObjectInfo, S3Read } from './connection.js';
import type { S3Side } from './failure.js';

export interface ObjectSendOptions {
  /** The ETag the listing gave: every GET asks `If-Match` it, so the bytes are all of that version. */
  etag?: string;
  side?: S3Side;
  signal?: AbortSignal;
  /** What each answer says about the object (content type, `x-amz-meta-*`), before its bytes stream; a throw refuses it. */
  onInfo?: (info: S3ObjectInfo) => void;
}

/**
 * The transfer engine's send hook for one S3 object (docs/transfers.md "Retries and resuming"): the GET
 * is signed by the AWS SDK, and the engine's resume headers become S3's. `Range: bytes=N-` is passed on;
 * `If-Range` (which S3 does not honour) becomes `If-Match` with the same ETag, so a tail is only ever
 * served from the version whose head is on disk. When that version is gone (412) or the range is past the
 * end (416), the object is asked for whole, as a server answers a failed If-Range with 200: the engine
 * then starts over from byte 0. A first GET (or a start-over) asks `If-Match` the listed ETag, so an
 * object replaced since it was listed fails (exit 1) instead of being packed under the old listing.
 */
export function objectSend(conn: S3Connection, bucket: string, key: string, opts: ObjectSendOptions = {}) {
  const side = opts.side ?? 'upstream';
  return async (headers: Record<string, string>): Promise<SentResponse> => {
    const range = headers.range;
    const validator = headers['if-range'];
    let r: S3Read | undefined;
    if (range && validator) r = await conn.read(bucket, key, side, { range, ifMatch: validator, signal: opts.signal });
    r ??= await conn.read(bucket, key, side, { ifMatch: opts.etag, signal: opts.signal });
    if (!r) throw changed(conn, bucket, key, side);
    try {
      opts.onInfo?.(r.info);
    } catch (e) {
      r.body.destroy();
      throw e;
    }
    return answer(conn.url(bucket, key), r);
  };
}

function changed(conn: S3Connection, bucket: string, key: string, side: S3Side): Error {
  // read() answers undefined for a plain If-Match GET only on 412: the object is not the listed version.
  const url = conn.url(bucket, key);
  const Err = side === 'target' ? TargetError : UpstreamError;
  return new Err(`s3.${conn.name} (${conn.endpoint.host}): ${url} was replaced after it was listed (download: 412 PreconditionFailed on If-Match)`, {
    subject: url,
    hint: 'pack again: the next listing sees the new version',
  });
}

function answer(url: string, r: S3Read): SentResponse {
  const headers: SentResponse['headers'] = { 'content-length': String(r.info.size) };
  if (r.info.etag) headers.etag = r.info.etag;
  if (r.contentRange) headers['content-range'] = r.contentRange;
  if (r.info.lastModified) headers['last-modified'] = r.info.lastModified.toUTCString();
  if (r.info.contentType) headers['content-type'] = r.info.contentType;
  return { status: r.status, url, headers, body: withReaders(r.body) };
}

/** The SDK's body with the two readers the engine uses on an answer it does not stream. */
function withReaders(body: Readable): SentResponse['body'] {
  return Object.assign(body, {
    dump: async () => {
      body.destroy();
    },
    text: async () => {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  });
}
