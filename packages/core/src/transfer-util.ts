import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { newSha256 } from './descriptor.js';
import { type HttpResponse, header } from './http.js';
import type { IntegrityCheck } from './transfer.js';

/** Helpers of the transfer engine (packages/core/src/transfer.ts, docs/transfers.md). */

/**
 * What a send hook (BlobRequest.send) answers: an HttpResponse, or the same fields around another
 * client's body (the engine streams the body, dumps it, or reads it as text for a failure message).
 */
export interface SentResponse extends Pick<HttpResponse, 'status' | 'statusText' | 'headers' | 'url'> {
  body: Readable & { dump(): Promise<unknown>; text(): Promise<string> };
}

export interface Hashes {
  sha256: Hash;
  extra?: Hash;
}

/** The hashes of a resumed download start from the bytes kept on disk. */
export async function hashesOf(partial: string, offset: number, integrity?: IntegrityCheck): Promise<Hashes> {
  const h: Hashes = { sha256: newSha256(), extra: integrity ? createHash(integrity.algorithm) : undefined };
  if (offset > 0) {
    for await (const chunk of createReadStream(partial, { start: 0, end: offset - 1, highWaterMark: 1 << 20 })) {
      h.sha256.update(chunk as Buffer);
      h.extra?.update(chunk as Buffer);
    }
  }
  return h;
}

export function rangeStart(contentRange: string | undefined): number | undefined {
  const m = /^bytes (\d+)-/.exec(contentRange ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Weak ETags cannot be used with If-Range (RFC 9110 §13.1.5). */
export function strongEtag(etag: string | undefined): string | undefined {
  return etag && !etag.startsWith('W/') ? etag : undefined;
}

export function contentLength(res: Pick<HttpResponse, 'headers'>, offset: number): number | undefined {
  const n = Number(header(res, 'content-length'));
  return Number.isFinite(n) && header(res, 'content-length') !== undefined ? n + offset : undefined;
}

export async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A response body whose bytes survive a cut connection (see keepOnCut). */
export interface KeptBody {
  stream: Readable;
  /** Why the connection broke, once the bytes that arrived before it are read; undefined when it did not. */
  cut(): Error | undefined;
}

/**
 * Pipe a response body into a buffer at once, so the bytes that arrived before a connection broke are
 * still read (a destroyed body drops what it buffered), and the break is reported after them: the
 * partial file then holds every byte received and the resume asks only for the rest.
 */
export function keepOnCut(body: Readable): KeptBody {
  let cut: Error | undefined;
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  body.on('error', (e) => {
    cut = e;
    out.end();
  });
  body.pipe(out);
  return { stream: out, cut: () => cut };
}
