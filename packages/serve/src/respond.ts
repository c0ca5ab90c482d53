import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FileHandle } from 'node:fs/promises';
import type { OpenFile } from './confined.js';

export type Headers = Record<string, string | number>;

/** Body bytes each response promised (Content-Length), for the access log. */
export const bodyBytes = new WeakMap<ServerResponse, number>();

/** Content types of the files a mirror holds, by name (everything else is a byte stream). */
export function contentTypeOf(name: string): string {
  const n = name.toLowerCase();
  if (n.endsWith('.json')) return 'application/json';
  if (n.endsWith('.yaml') || n.endsWith('.yml')) return 'application/yaml';
  if (n.endsWith('.html')) return 'text/html; charset=utf-8';
  if (n.endsWith('.xml')) return 'application/xml';
  if (n.endsWith('.asc') || n.endsWith('.key') || n.endsWith('.txt') || n.endsWith('.prov') || n.endsWith('.metadata')) return 'text/plain; charset=utf-8';
  if (n.endsWith('.gz') || n.endsWith('.tgz')) return 'application/gzip';
  if (n.endsWith('.deb')) return 'application/vnd.debian.binary-package';
  if (n.endsWith('.rpm')) return 'application/x-rpm';
  if (/(^|\/)(release|inrelease|packages)$/.test(n)) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

export function sendText(res: ServerResponse, status: number, body: string, type: string, headers: Headers = {}, head = false): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { 'content-type': type, 'content-length': bytes.length, ...headers });
  if (!head) bodyBytes.set(res, bytes.length);
  res.end(head ? undefined : bytes);
}

export function sendJson(res: ServerResponse, status: number, doc: unknown, headers: Headers = {}, head = false, type = 'application/json'): void {
  sendText(res, status, JSON.stringify(doc), type, headers, head);
}

export function notFound(res: ServerResponse, head = false): void {
  sendText(res, 404, 'not found\n', 'text/plain; charset=utf-8', {}, head);
}

/** One `bytes=a-b` range (what registries, apt and dnf ask for); multi-range requests get the whole file. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

const CHUNK = 1 << 20;
/** Writes one response keeps queued on its socket: enough to overlap the next read with the sending. */
const IN_FLIGHT = 3;
/** Free chunk buffers kept for the next reads (16 parallel clients need up to 48). */
const KEEP = 64;
const spare: Buffer[] = [];
const release = (buf: Buffer): void => {
  if (spare.length < KEEP) spare.push(buf);
};

/**
 * Write `length` bytes of `fh` from `start` to `res`, read into reused 1 MiB buffers. A buffer is read into
 * again only after the socket has taken its bytes (the write's callback). A read stream allocates a new
 * buffer for every read instead, and collecting those was a third of serve's CPU on a large file (V8's
 * garbage collector over the CLI's heap: docs/serve.md "Benchmark"). A client that hangs up ends the loop
 * (not an error of ours); a file that is shorter than its size cuts the response.
 */
async function writeRange(fh: FileHandle, start: number, length: number, res: ServerResponse): Promise<void> {
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  res.on('close', poke);
  try {
    const end = start + length;
    for (let pos = start; pos < end; ) {
      while (inFlight >= IN_FLIGHT && !res.destroyed) await new Promise<void>((r) => (wake = r));
      if (res.destroyed) return;
      const buf = spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos), pos);
      if (res.destroyed) return release(buf);
      if (bytesRead === 0) return void res.destroy(new Error('the file is shorter than its size'));
      pos += bytesRead;
      inFlight++;
      res.write(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead), () => {
        inFlight--;
        release(buf);
        poke();
      });
    }
    res.end();
  } finally {
    res.off('close', poke);
  }
}

/**
 * Stream an opened file (never read whole: blobs are gigabytes), honouring HEAD and a single Range.
 * The handle is closed when the response ends or the client goes away.
 */
export async function sendFile(req: IncomingMessage, res: ServerResponse, file: OpenFile, type: string, headers: Headers = {}): Promise<void> {
  try {
    const range = parseRange(req.headers.range, file.size);
    const common = { 'content-type': type, 'accept-ranges': 'bytes', 'last-modified': file.mtime.toUTCString(), ...headers };
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...common, 'content-range': `bytes */${file.size}`, 'content-length': 0 });
      res.end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? file.size - 1;
    const length = file.size === 0 ? 0 : end - start + 1;
    res.writeHead(range ? 206 : 200, { ...common, 'content-length': length, ...(range ? { 'content-range': `bytes ${start}-${end}/${file.size}` } : {}) });
    if (req.method !== 'HEAD') bodyBytes.set(res, length);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    await writeRange(file.handle, start, length, res);
  } finally {
    await file.handle.close().catch(() => undefined);
  }
}
