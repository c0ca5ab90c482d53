import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A reverse proxy on 127.0.0.1 in front of a real upstream (`backend`, an http:// origin) that breaks it in
 * one way, so one upstream serves the happy path and the failure classes of docs/exit-codes.md at once:
 * - `status`: every request is answered with this HTTP status (a 5xx: the upstream is down);
 * - `corrupt`: the bodies of the paths it matches arrive with one byte flipped (same length, so only a
 *   checksum can tell), everything else passes unchanged.
 * The Host header is passed on, so servers that build absolute URLs from it (verdaccio's tarball URLs)
 * point back at the proxy.
 */
export interface FaultProxy {
  /** Base URL, ending in `/`. */
  url: string;
  /** `127.0.0.1:<port>`. */
  host: string;
  /** The paths whose bodies it corrupted (a corrupt-mode test checks one was). */
  corrupted: string[];
  stop(): Promise<void>;
}

export type Fault = { status: number } | { corrupt: (path: string) => boolean };

export async function startFaultProxy(backend: string, fault: Fault): Promise<FaultProxy> {
  const origin = new URL(backend);
  const corrupted: string[] = [];
  const server = createServer((req, res) => {
    if ('status' in fault) {
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'text/plain', 'retry-after': '0' }).end('upstream down (test)\n');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const up = httpRequest({ host: origin.hostname, port: origin.port, method: req.method, path: req.url, headers: req.headers }, (upRes: IncomingMessage) => {
      if (!fault.corrupt(path) || req.method !== 'GET' || (upRes.statusCode ?? 0) >= 300) {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => chunks.push(c));
      upRes.on('end', () => {
        const body = Buffer.concat(chunks);
        if (body.length > 0) body[Math.floor(body.length / 2)] ^= 0xff;
        corrupted.push(path);
        const headers = { ...upRes.headers, 'content-length': String(body.length) };
        delete headers['transfer-encoding'];
        res.writeHead(upRes.statusCode ?? 200, headers).end(body);
      });
    });
    up.on('error', (e) => res.writeHead(502).end(String(e)));
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    host: `127.0.0.1:${port}`,
    corrupted,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
