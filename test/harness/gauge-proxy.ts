import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Requests in flight at once, counted at the server side of one or more proxies (shared between them). */
export interface Gauge {
  active: number;
  max: number;
}

export function newGauge(): Gauge {
  return { active: 0, max: 0 };
}

export interface ProxiedRequest {
  method: string;
  path: string;
  /** The Range, If-Range and If-Match headers the client sent. */
  range?: string;
  ifRange?: string;
  ifMatch?: string;
  status?: number;
  /** The proxy broke the connection after `sent` bytes of the body. */
  cut?: boolean;
  sent?: number;
}

export interface GaugeProxy {
  /** Base URL, ending in `/`. */
  url: string;
  /** `127.0.0.1:<port>`. */
  host: string;
  requests: ProxiedRequest[];
  /** The whole body of each path it cut once (what the client must end up with). */
  bodies: Map<string, Buffer>;
  stop(): Promise<void>;
}

/** What a proxy answers itself (GaugeProxyOptions.intercept). */
export interface LocalAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface GaugeProxyOptions {
  gauge?: Gauge;
  /**
   * GETs of these paths are cut once: the first answer (200, with Content-Length and a strong ETag) stops
   * after half of the body and the connection is destroyed; later GETs with `Range: bytes=N-` and a
   * matching `If-Range` get `206` with the rest. The proxy serves both from the whole body it read once.
   */
  cutOnce?: (path: string) => boolean;
  /**
   * Hold each request this long (counted in flight) before it is forwarded, so that requests a client
   * sends in parallel overlap at the server however fast the backend answers; without it, a fast loopback
   * backend can finish each request before the next arrives and a gauge sees less than the client allows.
   */
  holdMs?: number;
  /**
   * GETs of these paths are cut once, passing through: the first 200 of the backend (signed requests, such
   * as S3's, go to it unchanged) is stopped after half of its body and the connection destroyed; every
   * other request, the resume with its Range included, goes to the backend unchanged and the backend
   * answers it. `onCut` runs after the half is sent and before the connection is destroyed.
   */
  cutThrough?: (path: string) => boolean;
  onCut?: (path: string) => Promise<void>;
  /**
   * Answer a request here instead of passing it on (a 429 to throttle a client, a 500 for a HEAD, a 307
   * redirect); undefined passes it on. `url` is the request target with its query, `path` its decoded path.
   * Read on every request, so a test can change what it answers between steps.
   */
  intercept?: (req: { method: string; url: string; path: string }) => LocalAnswer | undefined;
  /** 200 answers to GETs of these paths arrive with the last byte of their first chunk flipped (same length). */
  tamper?: (path: string) => boolean;
  /** Which requests the gauge counts (`url` with its query); all when not given. */
  counts?: (req: { method: string; url: string }) => boolean;
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'etag', 'last-modified', 'content-range', 'accept-ranges']);

/**
 * A reverse proxy on 127.0.0.1 in front of a real upstream or target (`backend`, an http:// origin): the
 * one recording proxy of the tests (test/oci/proxies.ts's registry proxy is this one with OCI rules). The
 * Host header is passed on unchanged, so servers that build absolute URLs from it (a registry's
 * `Location`, verdaccio's tarball URLs) point back at the proxy; `Location` headers naming the backend are
 * rewritten too. Every request is recorded and counted in the gauge from arrival until the answer is
 * finished, so a test sees how many transfers a client had in flight at once.
 */
export async function startGaugeProxy(backend: string, opts: GaugeProxyOptions = {}): Promise<GaugeProxy> {
  const b = new URL(backend);
  const gauge = opts.gauge ?? newGauge();
  const requests: ProxiedRequest[] = [];
  const bodies = new Map<string, Buffer>();
  const cutPaths = new Set<string>();
  let self = '';
  const server = createServer((req, res) => {
    let counted = opts.counts?.({ method: req.method ?? 'GET', url: req.url ?? '/' }) ?? true;
    if (counted) {
      gauge.active++;
      gauge.max = Math.max(gauge.max, gauge.active);
    }
    const done = () => {
      if (counted) gauge.active--;
      counted = false;
    };
    res.on('close', done);
    const rec: ProxiedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      ...(req.headers.range ? { range: String(req.headers.range) } : {}),
      ...(req.headers['if-range'] ? { ifRange: String(req.headers['if-range']) } : {}),
      ...(req.headers['if-match'] ? { ifMatch: String(req.headers['if-match']) } : {}),
    };
    requests.push(rec);
    const path = decodeURIComponent(new URL(rec.path, 'http://x').pathname);
    const forward = (headers: IncomingHttpHeaders, onAnswer: (up: IncomingMessage) => void) => {
      const up = httpRequest({ host: b.hostname, port: Number(b.port), method: req.method, path: rec.path, headers }, onAnswer);
      up.on('error', (e) => {
        if (!res.headersSent) res.writeHead(502).end(String(e));
        else res.destroy();
      });
      req.pipe(up);
    };
    const handle = () => {
      const local = opts.intercept?.({ method: rec.method, url: rec.path, path });
      if (local) {
        req.resume();
        rec.status = local.status;
        res.writeHead(local.status, local.headers).end(local.body);
        return;
      }
      if (req.method === 'GET' && opts.cutOnce?.(path) && serveCut(req, res, rec, path, bodies, forward)) return;
      const cut = req.method === 'GET' && !cutPaths.has(path) && opts.cutThrough?.(path);
      forward(req.headers, (up) => {
        const headers = { ...up.headers };
        if (typeof headers.location === 'string') headers.location = headers.location.replace(b.origin, self.replace(/\/$/, ''));
        rec.status = up.statusCode;
        res.writeHead(up.statusCode ?? 502, headers);
        const length = Number(up.headers['content-length']);
        if (cut && up.statusCode === 200 && length >= 2) {
          cutPaths.add(path);
          cutHalf(up, res, rec, Math.floor(length / 2), () => opts.onCut?.(path));
        } else if (req.method === 'GET' && up.statusCode === 200 && opts.tamper?.(path)) flipFirstChunk(up, res);
        else up.pipe(res);
      });
    };
    if (opts.holdMs) setTimeout(handle, opts.holdMs);
    else handle();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  self = `http://127.0.0.1:${port}/`;
  return {
    url: self,
    host: `127.0.0.1:${port}`,
    requests,
    bodies,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Pass the answer on with the last byte of its first chunk flipped (tamper). */
function flipFirstChunk(up: IncomingMessage, res: ServerResponse): void {
  let first = true;
  up.on('data', (chunk: Buffer) => {
    if (first && chunk.length) {
      chunk = Buffer.from(chunk);
      chunk[chunk.length - 1] ^= 0xff;
      first = false;
    }
    res.write(chunk);
  });
  up.on('end', () => res.end());
}

/** Pass the first `half` bytes of the answer on, then break the connection (cutThrough). */
function cutHalf(up: IncomingMessage, res: ServerResponse, rec: ProxiedRequest, half: number, onCut: () => Promise<void> | undefined): void {
  const chunks: Buffer[] = [];
  let got = 0;
  up.on('data', (c: Buffer) => {
    if (got >= half) return;
    chunks.push(c);
    got += c.length;
    if (got < half) return;
    up.destroy();
    rec.cut = true;
    rec.sent = half;
    res.write(Buffer.concat(chunks).subarray(0, half), () => {
      void Promise.resolve(onCut()).finally(() => setTimeout(() => res.socket?.destroy(), 50));
    });
  });
}

function etagOf(body: Buffer): string {
  return `"cut-${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
}

function serveCut(
  req: IncomingMessage, res: ServerResponse, rec: ProxiedRequest, path: string, bodies: Map<string, Buffer>,
  forward: (headers: IncomingHttpHeaders, onAnswer: (up: IncomingMessage) => void) => void,
): boolean {
  const known = bodies.get(path);
  if (known) {
    const etag = etagOf(known);
    const m = /^bytes=(\d+)-$/.exec(rec.range ?? '');
    if (m && rec.ifRange === etag && Number(m[1]) < known.length) {
      const from = Number(m[1]);
      rec.status = 206;
      res.writeHead(206, { 'content-length': known.length - from, 'content-range': `bytes ${from}-${known.length - 1}/${known.length}`, etag, 'content-type': 'application/octet-stream' });
      res.end(known.subarray(from));
      return true;
    }
    if (!rec.range) {
      rec.status = 200;
      res.writeHead(200, { 'content-length': known.length, etag, 'content-type': 'application/octet-stream' });
      res.end(known);
      return true;
    }
  }
  // Another client's range requests (a wheel's central directory) pass through untouched.
  if (rec.range) return false;
  // Read the whole body from the backend once (no conditional or range headers), then cut it.
  const headers = { ...req.headers };
  for (const h of ['range', 'if-range', 'if-none-match', 'if-modified-since']) delete headers[h];
  forward(headers, (up) => {
    const chunks: Buffer[] = [];
    up.on('data', (c: Buffer) => chunks.push(c));
    up.on('end', () => {
      const body = Buffer.concat(chunks);
      rec.status = up.statusCode;
      const passOn = Object.fromEntries(Object.entries(up.headers).filter(([k]) => !HOP.has(k)));
      if (up.statusCode !== 200 || body.length < 2) {
        res.writeHead(up.statusCode ?? 502, { ...passOn, 'content-length': body.length });
        res.end(body);
        return;
      }
      bodies.set(path, body);
      const half = Math.floor(body.length / 2);
      rec.cut = true;
      rec.sent = half;
      res.writeHead(200, { ...passOn, 'content-length': body.length, etag: etagOf(body), 'accept-ranges': 'bytes' });
      res.write(body.subarray(0, half), () => setTimeout(() => res.socket?.destroy(), 50));
    });
  });
  return true;
}
