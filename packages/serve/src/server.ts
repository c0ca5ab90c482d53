import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { MirrorRoot, UnsafePath, pathSegments } from './confined.js';
import { handleNpm } from './npm.js';
import { OciRoutes } from './oci.js';
import { handlePypi } from './pypi.js';
import { bodyBytes, contentTypeOf, notFound, sendFile, sendText } from './respond.js';

/** One line of the access log (docs/serve.md "Access log"). */
export interface AccessRecord {
  time: string;
  remote: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  ms: number;
  userAgent: string;
  /** The client went away before the response was complete. */
  aborted?: boolean;
}

export interface ServeOptions {
  mirror: string;
  host: string;
  port: number;
  tls?: { cert: Buffer; key: Buffer };
  /** The URL clients reach this server at (npm tarball URLs); default: the request's Host. */
  baseUrl?: string;
  access?: (r: AccessRecord) => void;
  /** Unexpected errors of one request (answered 500); the server goes on. */
  error?: (e: Error, r: { method: string; path: string }) => void;
}

export interface RunningServer {
  /** `http(s)://host:port/` actually listened on (port 0 resolved). */
  url: string;
  server: Server;
  /** Stop accepting; requests in flight get `graceMs` to finish, then their connections are cut. */
  close(graceMs?: number): Promise<void>;
}

/** Folders served as plain files (their formats need no server logic: docs/helm.md, apt.md, yum.md). */
const STATIC = new Set(['helm', 'apt', 'yum', 'files']);
const HOST_HEADER = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/**
 * `airgap serve`: a read-only HTTP(S) server over a `dir:` mirror (docs/serve.md). GET and HEAD only;
 * no directory listings; every file is opened through MirrorRoot (confined.ts) and streamed.
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const root = await MirrorRoot.open(opts.mirror);
  const oci = new OciRoutes(root);
  const scheme = opts.tls ? 'https' : 'http';
  const fixedBase = opts.baseUrl ? (opts.baseUrl.endsWith('/') ? opts.baseUrl : opts.baseUrl + '/') : undefined;
  let listened = '';

  const npmBase = (req: IncomingMessage): string => {
    if (fixedBase) return `${fixedBase}npm/`;
    const host = req.headers.host;
    return `${scheme}://${host && HOST_HEADER.test(host) ? host : listened}/npm/`;
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const head = req.method === 'HEAD';
    const raw = req.url ?? '';
    if (!raw.startsWith('/')) return sendText(res, 400, 'bad request target\n', 'text/plain; charset=utf-8', {}, head);
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    if (req.method !== 'GET' && !head) {
      // Read-only: nothing of the body is read or kept; the connection is closed after the answer.
      res.writeHead(405, { allow: 'GET, HEAD', connection: 'close', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed: this server is read-only\n');
      return;
    }
    if (path === '/healthz') return sendText(res, 200, 'ok\n', 'text/plain; charset=utf-8', {}, head);
    if (path === '/v2' || path.startsWith('/v2/')) return oci.handle(req, res, path.slice(4), query);
    const slash = path.indexOf('/', 1);
    if (slash < 0) return notFound(res, head);
    const top = path.slice(1, slash);
    const rest = path.slice(slash + 1);
    if (top === 'npm') return handleNpm(req, res, root, rest, npmBase(req));
    if (top === 'pypi') return handlePypi(req, res, root, rest);
    if (!STATIC.has(top) || rest === '' || rest.endsWith('/')) return notFound(res, head);
    const segments = pathSegments(rest);
    const file = await root.openFile([top, ...segments]);
    if (!file) return notFound(res, head);
    return sendFile(req, res, file, contentTypeOf(segments[segments.length - 1]));
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const method = req.method ?? '?';
    const path = req.url ?? '';
    const remote = req.socket.remoteAddress ?? '-'; // read now: a socket the client has closed no longer says
    res.on('close', () => {
      opts.access?.({
        time: new Date().toISOString(),
        remote,
        method,
        path,
        status: res.statusCode,
        bytes: bodyBytes.get(res) ?? 0,
        ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
        userAgent: String(req.headers['user-agent'] ?? '-'),
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
    if (method !== 'GET' && method !== 'HEAD') req.resume();
    route(req, res).catch((e: Error) => {
      if (e instanceof UnsafePath) {
        if (!res.headersSent) sendText(res, 400, 'path refused\n', 'text/plain; charset=utf-8', {}, method === 'HEAD');
        return;
      }
      opts.error?.(e, { method, path });
      if (!res.headersSent) sendText(res, 500, 'internal error\n', 'text/plain; charset=utf-8', {}, method === 'HEAD');
      else res.destroy();
    });
  };

  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(handler);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  listened = addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
  return {
    url: `${scheme}://${listened}/`,
    server,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
