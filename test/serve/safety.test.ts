/**
 * `airgap serve` refuses what a read-only mirror server must refuse (issue 13, docs/serve.md "What is
 * refused"): no request path reaches a file outside MIRROR (raw `..`, percent-encoded, double-encoded,
 * encoded slashes and backslashes, symlinks inside the mirror pointing out), any method but GET/HEAD
 * is 405 and writes nothing; plus TLS, JSON access lines, signals, exit codes and parallel clients.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, readlink, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, tempDir } from '../harness/index.js';
import { makeTlsCert } from '../oci/registry-fixtures.js';
import { type ServeProcess, startServe } from './serve-process.js';

const SECRET = `outside-the-mirror-${randomBytes(8).toString('hex')}`;
let work: string;
let mirror: string;
let serve: ServeProcess;
let big: Buffer;

interface Answer {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/** A request with the path sent exactly as given (fetch would normalise `..` away before sending). */
function raw(base: string, method: string, path: string, body?: string, ca?: Buffer): Promise<Answer> {
  const u = new URL(base);
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)({ host: u.hostname, port: u.port, method, path, ...(ca ? { ca } : {}) });
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { recursive: true, withFileTypes: true })).sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
    const p = join(e.parentPath, e.name);
    const st = await stat(p).catch(() => undefined);
    out.push(`${p} ${e.isSymbolicLink() ? 'link' : e.isDirectory() ? 'dir' : createHash('sha256').update(await readFile(p)).digest('hex')} ${st?.mtimeMs ?? ''}`);
  }
  return out;
}

beforeAll(async () => {
  work = await tempDir('airgap-serve-safety-');
  mirror = join(work, 'mirror');
  for (const d of ['files/docs', 'helm', 'apt', 'yum/demo', 'npm/-', 'pypi/files', 'oci/blobs/sha256', 'files/.airgap-tmp']) await mkdir(join(mirror, d), { recursive: true });
  await writeFile(join(work, 'secret.txt'), SECRET);
  await mkdir(join(work, 'outside'), { recursive: true });
  await writeFile(join(work, 'outside', 'secret.txt'), SECRET);
  await writeFile(join(mirror, 'files', 'docs', 'readme.txt'), 'inside\n');
  await writeFile(join(mirror, 'files', '.airgap-tmp', 'partial.txt'), SECRET);
  await writeFile(join(mirror, 'files', 'pack.lock'), SECRET);
  big = randomBytes(24 << 20);
  await writeFile(join(mirror, 'files', 'big.bin'), big);
  await symlink(join(work, 'secret.txt'), join(mirror, 'files', 'link-out'));
  await symlink(join(work, 'outside'), join(mirror, 'files', 'dir-out'));
  await symlink('../../secret.txt', join(mirror, 'helm', 'rel-out.tgz'));
  await symlink(join(work, 'secret.txt'), join(mirror, 'npm', 'linked-pkg'));
  await symlink(join(work, 'secret.txt'), join(mirror, 'oci', 'blobs', 'sha256', 'a'.repeat(64)));
  await symlink('docs/readme.txt', join(mirror, 'files', 'link-in.txt'));
  serve = await startServe(mirror);
});

afterAll(async () => {
  await serve?.stop();
});

const TRAVERSALS = [
  '/files/../secret.txt', '/files/docs/../../secret.txt', '/files/../../' + 'secret.txt',
  '/files/%2e%2e/secret.txt', '/files/%2E%2E/secret.txt', '/files/.%2e/secret.txt', '/files/docs/%2e%2e/%2e%2e/secret.txt',
  '/files/..%2fsecret.txt', '/files/..%2Fsecret.txt', '/files/%2e%2e%2fsecret.txt', '/files/..%5csecret.txt', '/files/..\\secret.txt',
  '/files/%252e%252e/secret.txt', '/files/%252e%252e%252fsecret.txt', '/files/%25%32%65%25%32%65/secret.txt',
  '/files//' + 'secret.txt', '/files/%2fsecret.txt', '/files/%00', '/files/docs%00/readme.txt',
  '/files/link-out', '/files/dir-out/secret.txt', '/helm/rel-out.tgz', '/npm/linked-pkg', `/v2/x/blobs/sha256:${'a'.repeat(64)}`,
  '/files/.airgap-tmp/partial.txt', '/files/%2eairgap-tmp/partial.txt', '/files/pack.lock',
  '/apt/../secret.txt', '/yum/demo/../../../secret.txt', '/pypi/files/../../secret.txt', '/pypi/simple/../../secret.txt',
  '/npm/..%2f..%2fsecret.txt', '/npm/-/..%2f..%2fsecret.txt', '/npm/%2e%2e/secret.txt', '/npm/@x%2f..%2f..%2fsecret.txt',
  '/v2/../secret.txt', '/v2/%2e%2e/manifests/x', '/v2/x/blobs/..%2f..%2f..%2fsecret.txt',
  '/healthz/../secret.txt', '/../secret.txt', '/%2e%2e/secret.txt',
];

describe('airgap serve: nothing outside MIRROR, nothing written', () => {
  it('a file inside (and a symlink inside pointing inside) is served: the checks below can fail', async () => {
    const r = await raw(serve.url, 'GET', '/files/docs/readme.txt');
    expect([r.status, r.body.toString()]).toEqual([200, 'inside\n']);
    expect((await raw(serve.url, 'GET', '/files/link-in.txt')).body.toString()).toBe('inside\n');
  });

  it.each(TRAVERSALS)('%s never returns a file outside the mirror (nor a temp or lock file)', async (path) => {
    for (const method of ['GET', 'HEAD']) {
      const r = await raw(serve.url, method, path);
      expect(r.body.toString()).not.toContain(SECRET);
      expect([400, 404]).toContain(r.status);
    }
  });

  it('PUT, POST, DELETE, PATCH answer 405 with Allow: GET, HEAD, and the mirror is unchanged', async () => {
    const before = await snapshot(mirror);
    for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
      for (const path of ['/files/new.txt', '/files/docs/readme.txt', '/v2/x/blobs/uploads/', '/npm/fx-new', '/helm/index.yaml', '/apt/../escape.txt']) {
        const r = await raw(serve.url, method, path, 'written by the test');
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.headers.allow).toBe('GET, HEAD');
      }
    }
    expect(await snapshot(mirror)).toEqual(before);
    expect(await readdir(work)).not.toContain('escape.txt');
  });

  it('no directory listings; unknown top-level paths are 404', async () => {
    for (const p of ['/files/', '/files/docs/', '/helm/', '/apt/', '/nothing', '/', '/npm/']) expect((await raw(serve.url, 'GET', p)).status, p).toBe(404);
    expect((await raw(serve.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('16 clients at once each get the whole 24 MiB file, byte for byte, and Range works', async () => {
    const want = createHash('sha256').update(big).digest('hex');
    const got = await Promise.all(Array.from({ length: 16 }, async () => createHash('sha256').update((await raw(serve.url, 'GET', '/files/big.bin')).body).digest('hex')));
    expect(got).toEqual(Array(16).fill(want));
    const tail = await fetch(`${serve.url}files/big.bin`, { headers: { range: 'bytes=-100' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(big.subarray(big.length - 100))).toBe(true);
    expect((await fetch(`${serve.url}files/big.bin`, { headers: { range: `bytes=${big.length}-` } })).status).toBe(416);
    // a range across two of serve's 1 MiB read buffers' edges
    const mid = await fetch(`${serve.url}files/big.bin`, { headers: { range: 'bytes=1048000-3146000' } });
    expect(mid.status).toBe(206);
    expect(Buffer.from(await mid.arrayBuffer()).equals(big.subarray(1048000, 3146001))).toBe(true);
  });

  it('clients that hang up mid-file, and one that stalls, leave the others whole files and no file open', async () => {
    const want = createHash('sha256').update(big).digest('hex');
    const hangUp = () =>
      new Promise<void>((resolve, reject) => {
        const u = new URL(serve.url);
        const req = httpRequest({ host: u.hostname, port: u.port, path: '/files/big.bin' });
        req.on('response', (res) => res.once('data', () => { req.destroy(); resolve(); }));
        req.on('error', (e) => (req.destroyed ? resolve() : reject(e)));
        req.end();
      });
    const stalled = new Promise<string>((resolve, reject) => {
      const u = new URL(serve.url);
      const req = httpRequest({ host: u.hostname, port: u.port, path: '/files/big.bin' });
      req.on('response', (res) => {
        const hash = createHash('sha256');
        res.pause(); // holds its buffers on the socket while the others download
        setTimeout(() => res.on('data', (c: Buffer) => hash.update(c)).on('end', () => resolve(hash.digest('hex'))).resume(), 1500);
      });
      req.on('error', reject);
      req.end();
    });
    const whole = () => raw(serve.url, 'GET', '/files/big.bin').then((r) => createHash('sha256').update(r.body).digest('hex'));
    const [, got, slow] = await Promise.all([Promise.all(Array.from({ length: 6 }, hangUp)), Promise.all(Array.from({ length: 6 }, whole)), stalled]);
    expect(got).toEqual(Array(6).fill(want));
    expect(slow).toBe(want);
    const open = async () => {
      const fds = await readdir(`/proc/${serve.pid}/fd`);
      return (await Promise.all(fds.map((f) => readlink(`/proc/${serve.pid}/fd/${f}`).catch(() => '')))).filter((l) => l.endsWith('big.bin'));
    };
    for (let i = 0; i < 200 && (await open()).length > 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await open()).toEqual([]);
    // the access log names the client of an aborted request too (its address is read before the hang-up)
    const aborted = serve.lines().filter((l) => l.includes('"GET /files/big.bin"') && l.endsWith(' aborted'));
    expect(aborted.length).toBeGreaterThanOrEqual(6);
    for (const l of aborted) expect(l).toMatch(/^\S+Z 127\.0\.0\.1 "GET/);
    expect(await whole()).toBe(want);
  });

  it('a file cut short while it is sent: the response is cut (never padded to its Content-Length), the server goes on', async () => {
    // Larger than all the buffers between the file and the paused client (serve's 3 MiB in flight, the
    // socket's send buffer, and a receive buffer the kernel may grow to 32 MiB here): the cut falls
    // inside the file. Sparse: it costs no disk.
    const SIZE = 128 << 20;
    const path = join(mirror, 'files', 'shrinks.bin');
    await writeFile(path, '');
    await truncate(path, SIZE);
    const u = new URL(serve.url);
    const got = await new Promise<{ length: number; received: number; complete: boolean }>((resolve, reject) => {
      const req = httpRequest({ host: u.hostname, port: u.port, path: '/files/shrinks.bin', agent: false }); // a new connection
      req.on('response', (res) => {
        let received = 0;
        res.pause();
        setTimeout(async () => {
          await truncate(path, 1 << 20);
          res.on('data', (c: Buffer) => (received += c.length));
          res.on('close', () => resolve({ length: Number(res.headers['content-length']), received, complete: res.complete }));
          res.resume();
        }, 300);
      });
      req.on('error', () => undefined); // the cut: the socket is closed under the response
      req.end();
      req.on('close', () => undefined);
      setTimeout(() => reject(new Error('no end within 20 s')), 20_000).unref();
    });
    expect(got.length).toBe(SIZE);
    expect(got.complete).toBe(false);
    expect(got.received).toBeLessThan(SIZE);
    expect((await raw(serve.url, 'GET', '/files/docs/readme.txt')).status).toBe(200);
  });
});

describe('airgap serve: TLS, logs, signals, exit codes', () => {
  it('serves HTTPS with --tls-cert/--tls-key (checked against the CA), JSON access lines with --json, stops on SIGINT with exit 0', async () => {
    const tls = await makeTlsCert(join(work, 'tls'));
    const s = await startServe(mirror, ['--tls-cert', tls.cert, '--tls-key', tls.key, '--json']);
    expect(s.url.startsWith('https://127.0.0.1:')).toBe(true);
    const ca = await readFile(tls.cert);
    const r = await raw(s.url, 'GET', '/files/docs/readme.txt', undefined, ca);
    expect([r.status, r.body.toString()]).toEqual([200, 'inside\n']);
    const overTls = await Promise.all([1, 2, 3].map(() => raw(s.url, 'GET', '/files/big.bin', undefined, ca)));
    for (const b of overTls) expect(b.body.equals(big)).toBe(true); // many 1 MiB buffers, reused, through TLS
    await expect(raw(s.url, 'GET', '/healthz')).rejects.toThrow(/self-signed|certificate/i);
    const stopped = await s.stop('SIGINT');
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    const lines = stopped.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ event: 'listening', url: s.url });
    expect(lines.find((l) => l.path === '/files/docs/readme.txt')).toMatchObject({ method: 'GET', status: 200, bytes: 7, remote: '127.0.0.1' });
    expect(lines[lines.length - 1]).toMatchObject({ event: 'stopped', signal: 'SIGINT' });
  });

  it('plain access lines; SIGTERM stops it with exit 0', async () => {
    const s = await startServe(mirror);
    await raw(s.url, 'GET', '/files/docs/readme.txt');
    const stopped = await s.stop('SIGTERM');
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/^\S+Z 127\.0\.0\.1 "GET \/files\/docs\/readme\.txt" 200 7 \d+ms "/m);
    expect(stopped.stderr).toContain('stopped (SIGTERM)');
  });

  it('exit 2 for a missing mirror, a bad --listen, one TLS file alone; exit 1 when the port is taken', async () => {
    expect((await runAirgap(['serve', join(work, 'no-such-mirror')])).exitCode).toBe(2);
    expect((await runAirgap(['serve', mirror, '--listen', 'nowhere'])).exitCode).toBe(2);
    expect((await runAirgap(['serve', mirror, '--tls-cert', join(work, 'tls', 'tls.crt')])).exitCode).toBe(2);
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const r = await runAirgap(['serve', mirror, '--listen', `127.0.0.1:${(taken.address() as AddressInfo).port}`]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+/);
    } finally {
      taken.close();
    }
  });

  it('client-config: exit 2 without --server, or without --mirror/--to', async () => {
    expect((await runAirgap(['client-config', '--mirror', mirror, '--out', join(work, 'c0')])).exitCode).toBe(2);
    expect((await runAirgap(['client-config', '--server', 'http://x:1', '--out', join(work, 'c0')])).exitCode).toBe(2);
  });
});
