import { withTransfer } from '../harness/index.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  type AirgapConfig, type Artifact, type EndpointFormat, type NexusTargetConfig, type PublishContext, type ResolvedTarget,
  ContentStore, HttpClient, OCTET_STREAM, silentLogger,
} from '@airgap/core';
import { nexusDriver } from '@airgap/nexus';
import { DEFAULT_USER, type NexusDouble } from '../nexus-double/index.js';

export const USER_ENV = 'NEXUS_USER';
export const PASSWORD_ENV = 'NEXUS_PASSWORD';

export function nexusTarget(double: NexusDouble, extra: Partial<NexusTargetConfig> = {}): NexusTargetConfig {
  return {
    type: 'nexus',
    url: double.url,
    usernameEnv: USER_ENV,
    passwordEnv: PASSWORD_ENV,
    repositories: { docker: 'docker-hosted', helm: 'helm-hosted', apt: 'apt-hosted', yum: 'yum-hosted', pypi: 'pypi-hosted', npm: 'npm-hosted', raw: 'raw-hosted' },
    ...extra,
  };
}

export const goodEnv = { [USER_ENV]: DEFAULT_USER.username, [PASSWORD_ENV]: DEFAULT_USER.password };

/** An HttpClient with a short backoff, so retry tests do not wait seconds. */
export function fastHttp(settings: ConstructorParameters<typeof HttpClient>[0] = {}): HttpClient {
  const http = new HttpClient({ retries: 3, ...settings });
  http.backoffMs = 5;
  return http;
}

export async function openNexus(double: NexusDouble, opts: { formats?: EndpointFormat[]; target?: NexusTargetConfig; env?: NodeJS.ProcessEnv; http?: HttpClient; config?: AirgapConfig } = {}) {
  const config = opts.target ?? nexusTarget(double);
  const target: ResolvedTarget = { type: 'nexus', name: 'nexus', config };
  const http = opts.http ?? fastHttp();
  const opened = await nexusDriver.open(target, {
    http, config: opts.config ?? { targets: { nexus: config } }, log: silentLogger,
    formats: new Set(opts.formats ?? ['raw']), dryRun: false, env: opts.env ?? goodEnv,
  });
  return { target, http, opened };
}

/** A PublishContext over a ContentStore, as unpack builds one from a verified bundle. */
export function publishContext(store: ContentStore, target: ResolvedTarget, http: HttpClient, services: Record<string, unknown>): PublishContext {
  return withTransfer({
    target, http, services, config: {}, log: silentLogger, progress: () => {}, dryRun: false,
    bundle: { name: 'test', created: new Date().toISOString() },
    blobs: { open: (d) => store.open(d.digest) },
  });
}

/** Put bytes into the store and describe them as a `files` artifact landing at `path`. */
export async function fileArtifact(store: ContentStore, path: string, bytes: Buffer): Promise<Artifact> {
  const d = await store.put((async function* () { yield bytes; })());
  return {
    kind: 'file', name: path, version: '', digest: d.digest,
    blobs: [{ mediaType: OCTET_STREAM, digest: d.digest, size: d.size }],
    upstream: { url: 'test', verified: 'test' }, meta: { path },
  };
}

/** A test CA and a server certificate for 127.0.0.1, made with openssl. */
export async function makeTestCa(dir: string): Promise<{ caFile: string; key: string; cert: string }> {
  const p = (f: string) => join(dir, f);
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=airgap test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await execa('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
  await writeFile(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await execa('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '2', '-extfile', p('ext.cnf')]);
  const { readFile } = await import('node:fs/promises');
  return { caFile: p('ca.pem'), key: await readFile(p('server.key'), 'utf8'), cert: await readFile(p('server.pem'), 'utf8') };
}
