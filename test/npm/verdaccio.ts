/**
 * A real verdaccio 5 on 127.0.0.1 for tests and the bench: no uplinks, storage in a temp folder,
 * htpasswd auth (publish needs a login), a large max_body_size. A small recording proxy sits in front
 * so tests can count the requests a client sent (e.g. "no PUT on re-run").
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

const require = createRequire(import.meta.url);

export interface Verdaccio {
  /** Registry URL through the recording proxy, ending in `/`. */
  url: string;
  /** verdaccio's storage folder: `<storage>/<name>/<name>-<v>.tgz`. */
  storage: string;
  user: string;
  password: string;
  token: string;
  /** An npm userconfig holding the auth token for this registry. */
  userconfig: string;
  requests: { method: string; path: string; authorization?: string }[];
  close(): Promise<void>;
}

function verdaccioBin(): string {
  return join(dirname(require.resolve('verdaccio/package.json')), 'bin', 'verdaccio');
}

export async function startVerdaccio(): Promise<Verdaccio> {
  const dir = await mkdtemp(join(tmpdir(), 'airgap-verdaccio-'));
  const storage = join(dir, 'storage');
  await mkdir(storage, { recursive: true });
  const config = join(dir, 'config.yaml');
  await writeFile(config, [
    `storage: ${storage}`,
    `auth:`,
    `  htpasswd:`,
    `    file: ${join(dir, 'htpasswd')}`,
    `    max_users: 100`,
    `uplinks: {}`,
    `packages:`,
    `  '@*/*':`,
    `    access: $all`,
    `    publish: $authenticated`,
    `    unpublish: $authenticated`,
    `  '**':`,
    `    access: $all`,
    `    publish: $authenticated`,
    `    unpublish: $authenticated`,
    `max_body_size: 200mb`,
    `log: { type: stdout, format: json, level: error }`,
    `web: { enable: false }`,
    `security: { api: { legacy: true } }`,
    '',
  ].join('\n'));
  // verdaccio listens on a unix socket in its own folder, reached only through the proxy (port 0): a TCP
  // port picked beforehand could be taken by another test's verdaccio first, and the ping would find
  // that one answering.
  const socket = join(dir, 'verdaccio.sock');
  const child: ResultPromise = execa(process.execPath, [verdaccioBin(), '--config', config, '--listen', `unix:${socket}`], {
    reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', cleanup: true,
  });

  const requests: { method: string; path: string; authorization?: string }[] = [];
  const proxy = createServer((req: IncomingMessage, res) => {
    // The Host header is kept, so verdaccio writes tarball URLs that come back through this proxy.
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', authorization: req.headers.authorization });
    const fwd = httpRequest({ socketPath: socket, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', (e) => res.writeHead(502).end(String(e)));
    req.pipe(fwd);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(url + '-/ping').catch(() => undefined);
    if (res?.ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      proxy.close();
      throw new Error(`verdaccio did not start on ${socket}: ${String((await child).stderr).slice(0, 500)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  const user = 'airgap';
  const password = 'airgap-test-password';
  const res = await fetch(url + `-/user/org.couchdb.user:${user}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: user, password, type: 'user', roles: [], date: new Date().toISOString() }),
  });
  const body = (await res.json()) as { token?: string };
  if (!res.ok || !body.token) throw new Error(`verdaccio adduser failed: HTTP ${res.status} ${JSON.stringify(body)}`);
  requests.length = 0; // the pings and the login are not the test's
  const userconfig = join(dir, 'npmrc');
  const hostPath = url.replace(/^http:/, '');
  await writeFile(userconfig, `registry=${url}\n${hostPath}:_authToken=${body.token}\nfund=false\naudit=false\nupdate-notifier=false\n`);

  return {
    url, storage, user, password, token: body.token, userconfig, requests,
    async close() {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
      child.kill('SIGTERM');
      await child;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The environment for a real npm client: none of the caller's npm_config_* settings leak in. */
export function npmEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  return { ...env, NO_UPDATE_NOTIFIER: '1', ...extra };
}

/** Run the real npm client against one registry, with its own userconfig and cache. */
export async function npmClient(args: string[], opts: { cwd: string; userconfig: string; cache: string; registry: string }) {
  return execa('npm', [...args, '--registry', opts.registry, '--userconfig', opts.userconfig, '--cache', opts.cache, '--no-audit', '--no-fund', '--loglevel', 'error'], {
    cwd: opts.cwd, env: npmEnv(), extendEnv: false, stdin: 'ignore',
  });
}
