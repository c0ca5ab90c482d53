import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Artifact, BundleIndex, Descriptor } from '@airgap/core';
import { type SecretKey, generateKeyPair, writeBundle, writeKeyPair } from '@airgap/bundle';

/**
 * The attacker who holds the outside signing key (docs/security.md threat model): bundles written by
 * airgap's own writer and validly signed, whose index says whatever the test wants. Each artifact
 * brings its blob bytes; the index lists every blob once.
 */
export interface Forged {
  artifact: Artifact;
  /** Bytes of each blob, by digest. */
  bytes: Map<string, Buffer>;
}

export const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

export function blob(bytes: Buffer, mediaType = 'application/octet-stream'): { d: Descriptor; bytes: Buffer } {
  return { d: { mediaType, digest: sha(bytes), size: bytes.length }, bytes };
}

export async function signingKey(dir: string): Promise<{ key: SecretKey; pubFile: string }> {
  const key = generateKeyPair();
  await mkdir(dir, { recursive: true });
  const { pubFile } = await writeKeyPair(dir, 'outside', key);
  return { key, pubFile };
}

let seq = 0;

/** Write a signed bundle holding `items`; returns its folder. `chunkSize` small makes several parts. */
export async function forgeBundle(outDir: string, key: SecretKey, items: Forged[], opts: { chunkSize?: number; name?: string; base?: Artifact[] } = {}): Promise<string> {
  const bytes = new Map<string, Buffer>();
  for (const i of items) for (const [k, v] of i.bytes) bytes.set(k, v);
  const blobs: Descriptor[] = [...bytes].map(([digest, b]) => ({ mediaType: 'application/octet-stream', digest, size: b.length }));
  const index: BundleIndex = {
    schema: 'airgap.index/v1', name: opts.name ?? 'forged', created: new Date().toISOString(),
    artifacts: items.map((i) => i.artifact), blobs, ...(opts.base ? { base: opts.base } : {}),
  };
  const { dir } = await writeBundle({
    outDir, name: opts.name ?? 'forged', created: new Date(Date.now() + seq++ * 1000), index,
    blobs: blobs.map((d) => ({ descriptor: d, open: () => Readable.from([bytes.get(d.digest)!]) })),
    chunkSize: opts.chunkSize ?? 1 << 20, key, toolVersion: 'forged-by-test',
  });
  return dir;
}

const one = (b: { d: Descriptor; bytes: Buffer }) => new Map([[b.d.digest, b.bytes]]);

/**
 * The optional string fields of each ecosystem's artifact (as pack writes them when the upstream has
 * them), added by `goodArtifacts({ optional: true })` so that "every string field" covers them too.
 */
const OPTIONAL: Record<string, Record<string, unknown>> = {
  apt: { 'meta.control.Source': 'hello', 'meta.control.Depends': 'libc6 (>= 2.34)', 'meta.control.Section': 'devel', 'meta.control.Homepage': 'https://www.gnu.org/software/hello/' },
  yum: { 'meta.license': 'GPL-3.0-or-later', 'meta.auth': { host: '127.0.0.1', usernameEnv: 'YUM_USER', passwordEnv: 'YUM_PASS' } },
  pypi: { 'meta.metadataSource': 'wheel', 'meta.auth': { tokenEnv: 'PYPI_TOKEN' }, 'meta.metadata.classifiers': ['Programming Language :: Python :: 3'] },
  npm: { 'meta.upstreamLatest': '1.3.0', 'meta.deprecated': 'use String.prototype.padStart()' },
  chart: { 'meta.auth': { usernameEnv: 'HELM_USER' }, 'meta.images': [{ ref: 'ghcr.io/stefanprodan/podinfo:6.5.0', from: ['values.yaml'] }], 'meta.entry.created': '2024-01-02T03:04:05Z' },
  image: { 'meta.license': 'Apache-2.0', 'meta.cosign': 'signed by the key in verify.cosignKey', 'meta.attachedTo': 'sha256:' + 'c'.repeat(64) },
};

/** A well-formed artifact of every ecosystem, as `pack` writes them (each test bends one field); `optional` adds every optional string field. */
export function goodArtifacts(opts: { optional?: boolean } = {}): Record<string, () => Forged> {
  const base = baseArtifacts();
  if (!opts.optional) return base;
  return Object.fromEntries(Object.entries(base).map(([k, make]) => [k, () => {
    const f = make();
    let a = f.artifact;
    for (const [path, v] of Object.entries(OPTIONAL[k] ?? {})) a = bend(a, path, structuredClone(v));
    return { ...f, artifact: a };
  }]));
}

function baseArtifacts(): Record<string, () => Forged> {
  return {
    file: () => {
      const b = blob(Buffer.from('hello ' + randomBytes(4).toString('hex')));
      return { artifact: { kind: 'file', name: 'hello.txt', version: '', digest: b.d.digest, blobs: [b.d], upstream: { url: 'http://127.0.0.1/hello.txt', verified: 'sha256 from manifest' }, meta: { path: 'tools/hello.txt' } }, bytes: one(b) };
    },
    apt: () => {
      const b = blob(Buffer.from('!<arch>\n' + randomBytes(8).toString('hex')), 'application/vnd.debian.binary-package');
      return {
        artifact: {
          kind: 'apt', name: 'hello', version: '2.10-3', platform: 'amd64', digest: b.d.digest, blobs: [b.d],
          upstream: { url: 'http://127.0.0.1/debian/pool/main/h/hello/hello_2.10-3_amd64.deb', verified: 'InRelease (gpgv) → Packages → SHA256' },
          meta: {
            suite: 'bookworm', component: 'main', architectures: ['amd64'], filename: 'pool/main/h/hello/hello_2.10-3_amd64.deb',
            suites: [{ suite: 'bookworm', components: ['main'], architectures: ['amd64'] }],
            control: { Package: 'hello', Version: '2.10-3', Architecture: 'amd64', Maintainer: 'Santiago Vila <sanvila@debian.org>', Description: 'example package\n based on GNU hello\n .\n more' },
          },
        },
        bytes: one(b),
      };
    },
    yum: () => {
      const b = blob(Buffer.from('\xed\xab\xee\xdb' + randomBytes(8).toString('hex'), 'latin1'), 'application/x-rpm');
      return {
        artifact: { kind: 'yum', name: 'hello', version: '2.10-1.el9', platform: 'x86_64', digest: b.d.digest, blobs: [b.d], upstream: { url: 'http://127.0.0.1/el9/Packages/hello-2.10-1.el9.x86_64.rpm', verified: 'repomd → primary → rpm sha256' }, meta: { repo: 'baseos', role: 'rpm', file: 'hello-2.10-1.el9.x86_64.rpm' } },
        bytes: one(b),
      };
    },
    pypi: () => {
      const b = blob(Buffer.from('PK\x03\x04' + randomBytes(8).toString('hex')), 'application/zip');
      return {
        artifact: {
          kind: 'pypi', name: 'six', version: '1.16.0', digest: b.d.digest, blobs: [b.d], upstream: { url: 'http://127.0.0.1/six-1.16.0-py2.py3-none-any.whl', verified: 'sha256 from the index' },
          meta: { filename: 'six-1.16.0-py2.py3-none-any.whl', filetype: 'bdist_wheel', pyversion: 'py2.py3', requiresPython: '>=2.7, !=3.0.*', metadata: { name: 'six', version: '1.16.0', summary: 'Python 2 and 3 compatibility utilities' } },
        },
        bytes: one(b),
      };
    },
    npm: () => {
      const b = blob(Buffer.from('\x1f\x8b' + randomBytes(8).toString('hex'), 'latin1'), 'application/vnd.npm.tarball');
      return {
        artifact: {
          kind: 'npm', name: 'left-pad', version: '1.3.0', digest: b.d.digest, blobs: [b.d], upstream: { url: 'http://127.0.0.1/left-pad/-/left-pad-1.3.0.tgz', verified: 'integrity sha512' },
          meta: { manifest: { name: 'left-pad', version: '1.3.0', dist: { tarball: 'http://127.0.0.1/left-pad/-/left-pad-1.3.0.tgz' } }, tags: ['latest'], carriedLatest: '1.3.0' },
        },
        bytes: one(b),
      };
    },
    chart: () => {
      const b = blob(Buffer.from('\x1f\x8b' + randomBytes(8).toString('hex'), 'latin1'), 'application/vnd.cncf.helm.chart.content.v1.tar+gzip');
      return {
        artifact: {
          kind: 'chart', name: 'podinfo', version: '6.5.0', digest: b.d.digest, blobs: [b.d], upstream: { url: 'http://127.0.0.1/podinfo-6.5.0.tgz', verified: 'sha256 from the repository index.yaml' },
          meta: { source: 'http', file: 'podinfo-6.5.0.tgz', url: 'http://127.0.0.1/podinfo-6.5.0.tgz', prov: false, entry: { apiVersion: 'v2', name: 'podinfo', version: '6.5.0', description: 'demo' } },
        },
        bytes: one(b),
      };
    },
    image: () => {
      const config = blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: randomBytes(4).toString('hex') })), 'application/vnd.oci.image.config.v1+json');
      const layer = blob(randomBytes(64), 'application/vnd.oci.image.layer.v1.tar+gzip');
      const manifest = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: config.d, layers: [layer.d] })), 'application/vnd.oci.image.manifest.v1+json');
      return {
        artifact: {
          kind: 'image', name: '127.0.0.1:5000/team/app', version: '1.0', platform: 'linux/amd64', digest: manifest.d.digest, blobs: [manifest.d, config.d, layer.d],
          upstream: { url: 'http://127.0.0.1:5000/v2/team/app/manifests/1.0', verified: 'manifest digest computed over the raw bytes' },
          oci: { root: { ...manifest.d }, refName: '127.0.0.1:5000/team/app:1.0' },
          meta: { registry: '127.0.0.1:5000', repository: 'team/app', tag: '1.0', upstreamDigest: manifest.d.digest, filtered: false, manifests: [manifest.d.digest] },
        },
        bytes: new Map([[manifest.d.digest, manifest.bytes], [config.d.digest, config.bytes], [layer.d.digest, layer.bytes]]),
      };
    },
  };
}

/** Set a dotted path (`meta.control.Package`, `meta.architectures.0`) in a copy of an artifact. */
export function bend(a: Artifact, path: string, value: unknown): Artifact {
  const copy = structuredClone(a) as unknown as Record<string, unknown>;
  const keys = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at[keys[keys.length - 1]] = value;
  return copy as unknown as Artifact;
}

/** Every file under `dir` with its bytes, to prove a sentinel tree was not touched. */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string, rel: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(d, e.name), r);
      else out.set(r, e.isFile() ? sha(await readFile(join(d, e.name))) : 'non-file');
    }
  };
  await walk(dir, '');
  return out;
}

/** Every string leaf of an artifact as a dotted path (`meta.architectures.0`). */
export function stringPaths(x: unknown, at = ''): string[] {
  if (typeof x === 'string') return [at];
  if (Array.isArray(x)) return x.flatMap((y, i) => stringPaths(y, `${at}.${i}`));
  if (typeof x === 'object' && x !== null) return Object.entries(x).flatMap(([k, y]) => stringPaths(y, at ? `${at}.${k}` : k));
  return [];
}

/** How messages name a field: `meta.architectures[0]`. */
export const display = (path: string) => path.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
export const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Fields that are free text (descriptions, upstream metadata): a line break is text there, written only as JSON, YAML, HTML or a deb822 continuation. */
export const MULTILINE = /^(meta\.control\.Description|meta\.metadata\.|meta\.manifest\.|meta\.entry\.(?!created)|meta\.deprecated$)/;

/** Fields that become paths or file names in a mirror or repository, by kind. */
export const PATH_FIELDS: Record<string, string[]> = {
  file: ['meta.path'],
  apt: ['name', 'version', 'platform', 'meta.suite', 'meta.component', 'meta.architectures.0', 'meta.control.Source', 'meta.suites.0.suite', 'meta.suites.0.components.0', 'meta.suites.0.architectures.0'],
  yum: ['name', 'version', 'platform', 'meta.repo', 'meta.file'],
  pypi: ['name', 'version', 'meta.filename'],
  npm: ['name', 'version', 'meta.tags.0', 'meta.carriedLatest'],
  chart: ['name', 'version'],
  image: ['name', 'version', 'meta.registry', 'meta.repository', 'meta.tag', 'oci.refName'],
};
