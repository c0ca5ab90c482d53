/**
 * A TEST DOUBLE of Sonatype Nexus Repository 3 — not Nexus. Nexus cannot run on the project's
 * machines, so tests talk to this in-process HTTP(S) server instead. It follows
 * /work/shared/reference/nexus-api.md (the project's source of truth for Nexus request shapes, status
 * codes and error bodies) as closely as it can: Basic auth with Nexus's 401 challenge (§1), the
 * Components API with its multipart field rules and 400 JSON error arrays (§2), raw hosted content
 * (§9), the read/list APIs (§10) and the write-policy and sendError pitfalls (§11). Where the reference
 * is silent the double says so in a comment. Formats are one module each in formats/ (README.md).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formats as builtinFormats } from './formats/index.js';
import { handleRest } from './rest.js';
import { sendEmpty, sendError } from './respond.js';
import { AssetStore } from './storage.js';
import type { DoubleState, Fault, FormatHandler, RecordedRequest, RepositoryDef, StorageGeneration, UserDef } from './types.js';

export * from './types.js';
export { AssetStore, WritePolicyError, type StoredAsset } from './storage.js';
export { sendError, sendJson, sendEmpty } from './respond.js';

export interface NexusDoubleOptions {
  repositories?: RepositoryDef[];
  users?: UserDef[];
  /** Anonymous GET/HEAD of repository content (Nexus's "anonymous access"); default false. */
  anonymousRead?: boolean;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Error message wording: 'sql' (3.71+, default) or 'orient'. */
  generation?: StorageGeneration;
  /** Extra or replacement format handlers (by format name), on top of formats/index.ts. */
  formats?: FormatHandler[];
}

export interface NexusDouble extends DoubleState {
  /** Base URL, ending in `/`. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order (with the status sent, once answered). */
  readonly requests: RecordedRequest[];
  /** Nexus's read-only mode: `/service/rest/v1/status/writable` answers 503. */
  writable: boolean;
  /** Script failures: the next matching requests get this answer (default: one 503). */
  fail(fault: Fault): void;
  addRepository(def: RepositoryDef): void;
  addUser(user: UserDef): void;
  /** Requests that would change content (PUT, POST, DELETE, PATCH), for "nothing was sent" assertions. */
  writes(): RecordedRequest[];
  close(): Promise<void>;
}

/** The default repositories: one hosted repository per format, named `<format>-hosted`. */
export const DEFAULT_REPOSITORIES: RepositoryDef[] = ['docker', 'helm', 'apt', 'yum', 'pypi', 'npm', 'raw'].map((format) => ({
  name: `${format}-hosted`, format, type: 'hosted', writePolicy: 'ALLOW_ONCE',
  ...(format === 'apt' ? { attributes: { apt: { distribution: 'bookworm' } } } : {}),
}));

export const DEFAULT_USER: UserDef = { username: 'airgap', password: 'airgap-test-password', read: '*', write: '*' };

const CHALLENGE = 'BASIC realm="Sonatype Nexus Repository Manager"';

export async function startNexusDouble(opts: NexusDoubleOptions = {}): Promise<NexusDouble> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nexus-double-'));
  const repositories = new Map((opts.repositories ?? DEFAULT_REPOSITORIES).map((r) => [r.name, { ...r }]));
  const users = new Map((opts.users ?? [DEFAULT_USER]).map((u) => [u.username, u]));
  const formats = new Map<string, FormatHandler>(builtinFormats.map((f) => [f.format, f]));
  for (const f of opts.formats ?? []) formats.set(f.format, f);
  const faults: (Fault & { left: number })[] = [];
  const requests: RecordedRequest[] = [];
  const generation = opts.generation ?? 'sql';
  let url = '';
  const storage = new AssetStore(join(dataDir, 'blobs'), () => generation, () => url);

  const state = {
    get url() { return url; },
    repositories,
    storage,
    generation,
    writable: true,
  };

  function authenticate(req: IncomingMessage): { user?: UserDef; bad: boolean } {
    const h = req.headers.authorization;
    if (!h) return { bad: false };
    const m = /^Basic\s+(\S+)$/i.exec(h);
    if (!m) return { bad: true };
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const user = users.get(decoded.slice(0, i));
    if (!user || i < 0 || user.password !== decoded.slice(i + 1)) return { bad: true };
    return { user, bad: false };
  }

  const allowed = (list: string[] | '*' | undefined, repo: string) => list === undefined || list === '*' || list.includes(repo);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://double');
    let path: string;
    try {
      path = decodeURIComponent(u.pathname);
    } catch {
      return sendError(res, 400, 'Malformed URL');
    }
    const rec: RecordedRequest = { method: req.method ?? 'GET', path, query: u.searchParams, headers: req.headers };
    requests.push(rec);
    // Read when asked: the status is known once headers are sent, before the client sees any of the answer.
    Object.defineProperty(rec, 'status', { get: () => (res.headersSent ? res.statusCode : undefined), enumerable: true });

    const fault = faults.find((f) => f.left > 0 && (!f.method || f.method === rec.method) &&
      (f.path === undefined || (typeof f.path === 'string' ? f.path === path : f.path.test(path))));
    if (fault) {
      fault.left--;
      rec.fault = true;
      if (fault.reset) {
        req.socket.destroy();
        return;
      }
      if (fault.hang) {
        req.resume();
        return;
      }
      req.resume();
      if (fault.statusText) res.statusMessage = fault.statusText;
      res.writeHead(fault.status ?? 503, { 'content-type': 'text/plain', ...fault.headers });
      res.end(fault.body ?? '');
      return;
    }

    const auth = authenticate(req);
    rec.user = auth.user?.username;
    const challenge = () => {
      req.resume();
      res.writeHead(401, { 'www-authenticate': CHALLENGE, 'content-type': 'text/html' });
      res.end('<html><body>Unauthorized</body></html>');
    };
    // Wrong credentials are refused everywhere, even where anonymous access would be allowed.
    if (auth.bad) return challenge();
    const user = auth.user;

    if (path.startsWith('/service/rest/v1/')) {
      return handleRest({
        double: state, formats, user, req, res, url: u, challenge,
        canRead: (r) => Boolean(user && allowed(user.read, r)),
        canWrite: (r) => Boolean(user && allowed(user.write, r)),
      }, path.slice('/service/rest/v1/'.length));
    }

    const m = /^\/repository\/([^/]+)(?:\/(.*))?$/.exec(path);
    if (m) {
      const repo = repositories.get(m[1]);
      const method = rec.method;
      const reading = method === 'GET' || method === 'HEAD';
      if (!user && !(reading && opts.anonymousRead)) return challenge();
      if (!repo) {
        req.resume();
        return sendError(res, 404, 'Repository not found');
      }
      if (user && !allowed(user.read, repo.name) && !(reading && opts.anonymousRead)) {
        req.resume();
        return sendError(res, 403);
      }
      if ((repo.type ?? 'hosted') !== 'hosted') {
        // The double keeps no upstream: proxies and groups hold nothing and take no writes.
        req.resume();
        return reading ? sendError(res, 404) : sendError(res, 405);
      }
      const handler = formats.get(repo.format);
      if (!handler) {
        req.resume();
        return sendError(res, 404);
      }
      return handler.handle({ double: state, repo, user, canWrite: Boolean(user && allowed(user.write, repo.name)), req, res, path: m[2] ?? '', url: u });
    }
    req.resume();
    return sendEmpty(res, 404);
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) sendError(res, 500, String((e as Error).message ?? e));
      else res.destroy();
    });
  };
  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, listener) : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/`;

  return Object.assign(state, {
    port,
    requests,
    fail(f: Fault) {
      faults.push({ ...f, left: f.times ?? 1 });
    },
    addRepository(def: RepositoryDef) {
      repositories.set(def.name, { ...def });
    },
    addUser(u: UserDef) {
      users.set(u.username, u);
    },
    writes: () => requests.filter((r) => ['PUT', 'POST', 'DELETE', 'PATCH'].includes(r.method)),
    async close() {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dataDir, { recursive: true, force: true });
    },
  }) as NexusDouble;
}
