/**
 * Real parts for the OCI tests: Docker's registry (`docker-registry` from Debian) on 127.0.0.1 with
 * optional htpasswd or token auth, a small token server (the registry verifies its JWTs against a
 * certificate made with openssl), the proxies of proxies.ts (re-exported), and images built with umoci
 * from Debian's static busybox and pushed with skopeo.
 */
import { createHash, createSign, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { cachedBuild } from '../harness/fixture-cache.js';
import { closeServer, listen } from './loopback.js';

export { startForwardProxy, startRecordingProxy, type ForwardProxy, type ProxyRequest, type RecordingProxy } from './proxies.js';

export interface Registry {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  stop(): Promise<void>;
}

export type RegistryAuth =
  | { type: 'htpasswd'; user: string; password: string }
  | { type: 'token'; realm: string; service: string; issuer: string; certFile: string };

/** A self-signed certificate for 127.0.0.1 made with openssl; it is its own CA (what `http.caFile` names). */
export async function makeTlsCert(dir: string): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { recursive: true });
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  return { cert, key };
}

/** Start `docker-registry serve` with a config file of its own, storage in `dir`; HTTPS when `tls` is given. */
export async function startRegistry(dir: string, auth?: RegistryAuth, tls?: { cert: string; key: string }): Promise<Registry> {
  await mkdir(join(dir, 'storage'), { recursive: true });
  let authYaml = '';
  if (auth?.type === 'htpasswd') {
    const { stdout } = await execa('htpasswd', ['-Bbn', auth.user, auth.password]);
    await writeFile(join(dir, 'htpasswd'), stdout.trim() + '\n');
    authYaml = `auth:\n  htpasswd:\n    realm: airgap-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth?.type === 'token') {
    authYaml = `auth:\n  token:\n    realm: ${auth.realm}\n    service: ${auth.service}\n    issuer: ${auth.issuer}\n    rootcertbundle: ${auth.certFile}\n`;
  }
  const config = `version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'storage')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
  secret: ${randomBytes(12).toString('hex')}
${tls ? `  tls:\n    certificate: ${tls.cert}\n    key: ${tls.key}\n` : ''}${authYaml}`;
  await writeFile(join(dir, 'config.yml'), config);
  const proc: ResultPromise = execa('docker-registry', ['serve', join(dir, 'config.yml')], { reject: false, stdio: ['ignore', 'ignore', 'pipe'] });
  // Port 0, and the port read from its "listening on" line (logged once the socket is bound): a port
  // picked beforehand can be taken by another test's server before the registry binds it, and the
  // readiness probe would then find that other server answering /v2/.
  let stderr = '';
  let port: number | undefined;
  proc.stderr?.on('data', (d: Buffer) => {
    if (port !== undefined) return; // read and dropped: at level info it logs every request
    stderr += d.toString();
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr);
    if (m) port = Number(m[1]);
  });
  for (let i = 0; ; i++) {
    if (port !== undefined && (tls ? await accepts(port) : await answers(`${tls ? 'https' : 'http'}://127.0.0.1:${port}/v2/`))) break;
    if (proc.exitCode !== null || i > 200) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/`;
  return {
    host: `127.0.0.1:${port}`,
    url,
    async stop() {
      proc.kill('SIGTERM');
      await proc;
    },
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url);
    return res.status === 200 || res.status === 401;
  } catch {
    return false;
  }
}

async function accepts(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Scopes asked for, one per token request, and whether Basic credentials came with it. */
  requests: { scope: string; basic: boolean }[];
  /** Lifetime in seconds of the tokens issued from now on (tests shorten it only around an expiry check). */
  expiresIn: number;
  stop(): Promise<void>;
}

/**
 * A token server after distribution's token spec: `GET /token?service=&scope=` → `{token, expires_in}`,
 * a JWT signed RS256 with an openssl-made key whose certificate the registry trusts (`x5c` header).
 * With `user`/`password` it refuses requests without those Basic credentials (401).
 */
export async function startTokenServer(dir: string, opts: { user?: string; password?: string; expiresIn?: number } = {}): Promise<TokenServer> {
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=airgap-test-token-issuer']);
  const key = readFileSync(keyFile, 'utf8');
  const der = (await execa('openssl', ['x509', '-in', certFile, '-outform', 'DER'], { encoding: 'buffer', stripFinalNewline: false })).stdout as Uint8Array;
  const x5c = Buffer.from(der).toString('base64');
  const service = 'airgap-test-registry';
  const issuer = 'airgap-test-issuer';
  const ts = { expiresIn: opts.expiresIn ?? 300 } as TokenServer;
  const requests: TokenServer['requests'] = [];
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const scope = u.searchParams.get('scope') ?? '';
    const authz = req.headers.authorization ?? '';
    requests.push({ scope, basic: authz.startsWith('Basic ') });
    if (opts.user !== undefined) {
      const want = 'Basic ' + Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64');
      if (authz !== want) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
    }
    const access = scope
      ? scope.split(' ').map((s) => {
          const [type, ...rest] = s.split(':');
          const actions = rest.pop()!.split(',');
          return { type, name: rest.join(':'), actions };
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = ts.expiresIn;
    const header = { alg: 'RS256', typ: 'JWT', x5c: [x5c] };
    const claims = { iss: issuer, sub: opts.user ?? 'anonymous', aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64(header)}.${b64(claims)}`;
    const sig = createSign('RSA-SHA256').update(input).sign(key).toString('base64url');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${input}.${sig}`, expires_in: expiresIn, issued_at: new Date().toISOString() }));
  });
  const port = await listen(server);
  Object.assign(ts, { realm: `http://127.0.0.1:${port}/token`, service, issuer, certFile, requests, stop: () => closeServer(server) });
  return ts;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `skopeo inspect --raw`: the manifest bytes as the registry serves them, and their digest. */
export async function inspectRaw(ref: string, extra: string[] = []): Promise<{ raw: string; digest: string }> {
  const args = ['inspect', '--raw', ...extra];
  if (ref.startsWith('docker://')) args.push('--tls-verify=false');
  const { stdout } = await execa('skopeo', [...args, ref], { stripFinalNewline: false });
  return { raw: stdout, digest: 'sha256:' + sha256Hex(stdout) };
}

export async function skopeoCopy(src: string, dest: string, extra: string[] = []): Promise<void> {
  const tls = [src.startsWith('docker://') ? '--src-tls-verify=false' : '', dest.startsWith('docker://') ? '--dest-tls-verify=false' : ''].filter(Boolean);
  await execa('skopeo', ['copy', '--quiet', ...tls, ...extra, src, dest]);
}

interface LayoutEntry {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Record<string, string>;
}

async function layoutEntry(layout: string, tag: string): Promise<LayoutEntry> {
  const idx = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: LayoutEntry[] };
  const e = idx.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!e) throw new Error(`no ${tag} in ${layout}`);
  return e;
}

/**
 * An OCI layout built with umoci: `amd64` (busybox layer, linux/amd64), `arm64` (same busybox layer
 * plus a layer of its own, linux/arm64), `app` (busybox layer plus another layer), `att` (an
 * attestation-like image), and `multi`: an index of amd64 + arm64 + an attestation entry for arm64 in
 * BuildKit's form. The index JSON is composed here (it is the structure under test); every blob is umoci's.
 */
export async function buildFixtureLayout(dir: string): Promise<string> {
  // Built once per checkout by the real umoci (test/harness/fixture-cache.ts), keyed by this builder's
  // source, umoci's version and the busybox it inserts; every caller gets its own copy under `dir`.
  const key = {
    builder: await readFile(fileURLToPath(import.meta.url), 'utf8'),
    umoci: String((await execa('umoci', ['--version'])).stdout),
    busybox: sha256Hex(await readFile('/usr/bin/busybox')),
  };
  await cachedBuild('oci-layout', key, dir, umociLayout);
  return join(dir, 'layout');
}

async function umociLayout(dir: string): Promise<void> {
  const L = join(dir, 'layout');
  const files = join(dir, 'files');
  await mkdir(files, { recursive: true });
  const umoci = (...args: string[]) => execa('umoci', args);
  await umoci('init', '--layout', L);
  await umoci('new', '--image', `${L}:base`);
  await umoci('insert', '--image', `${L}:base`, '/usr/bin/busybox', '/bin/busybox');
  await umoci('config', '--image', `${L}:base`, '--config.cmd', '/bin/busybox', '--os', 'linux', '--architecture', 'amd64', '--tag', 'amd64');
  await umoci('config', '--image', `${L}:base`, '--config.cmd', '/bin/busybox', '--os', 'linux', '--architecture', 'arm64', '--tag', 'arm64');
  await writeFile(join(files, 'arch'), 'arm64\n');
  await umoci('insert', '--image', `${L}:arm64`, join(files, 'arch'), '/etc/arch');
  await writeFile(join(files, 'app.conf'), 'listen 8080\n');
  await umoci('config', '--image', `${L}:base`, '--config.cmd', '/bin/busybox', '--os', 'linux', '--architecture', 'amd64', '--tag', 'app');
  await umoci('insert', '--image', `${L}:app`, join(files, 'app.conf'), '/etc/app.conf');
  await umoci('new', '--image', `${L}:att`);
  await writeFile(join(files, 'provenance.json'), JSON.stringify({ builder: 'airgap-test' }));
  await umoci('insert', '--image', `${L}:att`, join(files, 'provenance.json'), '/provenance.json');
  await umoci('config', '--image', `${L}:att`, '--os', 'unknown', '--architecture', 'unknown');

  const amd = await layoutEntry(L, 'amd64');
  const arm = await layoutEntry(L, 'arm64');
  const att = await layoutEntry(L, 'att');
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: amd.mediaType, digest: amd.digest, size: amd.size, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: arm.mediaType, digest: arm.digest, size: arm.size, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      {
        mediaType: att.mediaType, digest: att.digest, size: att.size, platform: { architecture: 'unknown', os: 'unknown' },
        annotations: { 'vnd.docker.reference.digest': arm.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
      },
    ],
  };
  const bytes = Buffer.from(JSON.stringify(index, null, 2));
  const hex = sha256Hex(bytes);
  await writeFile(join(L, 'blobs', 'sha256', hex), bytes);
  const top = JSON.parse(await readFile(join(L, 'index.json'), 'utf8')) as { manifests: LayoutEntry[] };
  top.manifests.push({ mediaType: index.mediaType, digest: `sha256:${hex}`, size: bytes.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } });
  await writeFile(join(L, 'index.json'), JSON.stringify(top));
}

export async function manifestDigestInLayout(layout: string, tag: string): Promise<string> {
  return (await layoutEntry(layout, tag)).digest;
}
