import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, posix, resolve as resolvePath } from 'node:path';
import {
  type Artifact, type Descriptor, type SourceContext, type SourceHalf, IntegrityError, TrustError, UpstreamError, UsageError,
  safeUrl,
} from '@airgap/core';
import { type RepoAuth, authHeaders, authHint, repoAuth, upstreamBytes } from './auth.js';
import { type ClosureResult, nevra, resolveClosure } from './closure.js';
import { compressionOf, decompress } from './decompress.js';
import { verifyRepomd } from './gpg.js';
import { filterModular, parseModules } from './modules.js';
import { type RepomdEntry, type RpmPackage, readFilelists, readPrimary, readRepomd } from './primary.js';
import { DEFAULT_ARCH, type YumSpec } from './spec.js';
import { formatEvr } from './vercmp.js';

export const RPM_MEDIA_TYPE = 'application/x-rpm';
export const MODULES_MEDIA_TYPE = 'application/vnd.airgap.yum.modules';

/** What the publish halves read from an artifact's `meta`. */
export interface YumMeta {
  /** The mirror name (`yum/<repo>/`). */
  repo: string;
  role: 'rpm' | 'modules';
  /** rpm: the file name; modules: the upstream file name (its compression). */
  file: string;
  /** Names of the environment variables with the repository's credentials (never their values). */
  auth?: RepoAuth;
  /** rpm: the header's License tag, as primary.xml gives it. */
  license?: string;
}

const withSlash = (u: string) => (u.endsWith('/') ? u : u + '/');

/** `yum/<name>/` of a spec: its `name:`, else the baseurl's path (host when the path is empty), as a slug. */
export function repoName(spec: Pick<YumSpec, 'baseurl' | 'name'>): string {
  if (spec.name) return spec.name;
  const u = new URL(spec.baseurl);
  const parts = u.pathname.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const slug = (parts.length ? parts.join('-') : u.hostname).toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-').replace(/-{2,}/g, '-').replace(/\.{2,}/g, '.').replace(/^[^a-z0-9]+|[-.]+$/g, '');
  return slug || 'repo';
}

function getBytes(ctx: SourceContext, url: string, auth: RepoAuth | undefined, what: string, limit = 64 << 20): Promise<Buffer | undefined> {
  return upstreamBytes(ctx, url, auth, what, limit, true);
}

async function readGpgKey(spec: YumSpec, ctx: SourceContext, auth: RepoAuth | undefined): Promise<Buffer> {
  const k = spec.gpgkey!;
  if (/^https?:\/\//i.test(k)) {
    const b = await getBytes(ctx, k, auth, 'gpgkey', 1 << 20);
    if (!b) throw new UpstreamError(`yum gpgkey ${safeUrl(k)}: not found (HTTP 404)`, { subject: safeUrl(k) });
    return b;
  }
  const path = k.startsWith('file://') ? new URL(k).pathname : isAbsolute(k) ? k : resolvePath(ctx.manifestDir, k);
  try {
    return await readFile(path);
  } catch (e) {
    throw new UsageError(`yum gpgkey ${path}: cannot read it`, { subject: path, hint: 'paths are relative to the manifest', cause: e });
  }
}

/** node:crypto names of repomd/primary checksum types (`sha` is createrepo's old name for sha1). */
function hashName(type: string, what: string): string {
  const t = type.toLowerCase();
  const name = t === 'sha' ? 'sha1' : t;
  if (!['sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'md5'].includes(name)) {
    throw new UpstreamError(`${what}: unsupported checksum type ${type}`, { subject: what });
  }
  return name;
}

interface Repo {
  base: string;
  auth?: RepoAuth;
  name: string;
  entries: Map<string, RepomdEntry>;
  /** How repomd.xml was trusted, for the bundle index. */
  trust: string;
}

/** repodata/repomd.xml, verified against repomd.xml.asc when the manifest gives a gpgkey. */
async function openRepo(spec: YumSpec, ctx: SourceContext): Promise<Repo> {
  const base = withSlash(spec.baseurl);
  const auth = repoAuth(base, spec);
  const url = base + 'repodata/repomd.xml';
  const repomd = await getBytes(ctx, url, auth, 'repomd.xml');
  if (!repomd) throw new UpstreamError(`GET ${safeUrl(url)}: HTTP 404 — no repodata/repomd.xml`, { subject: safeUrl(url), hint: 'baseurl must be the folder that holds repodata/' });
  let trust = 'repomd.xml not signed-checked (no gpgkey in the manifest)';
  if (spec.gpgkey) {
    const sig = await getBytes(ctx, url + '.asc', auth, 'repomd.xml.asc', 1 << 20);
    if (!sig) {
      throw new TrustError(`${safeUrl(url)}: repomd.xml has no signature (repomd.xml.asc is missing) but the manifest gives a gpgkey`, {
        subject: safeUrl(url),
        hint: 'the repository must publish repodata/repomd.xml.asc; remove gpgkey only if you accept unsigned metadata',
      });
    }
    await verifyRepomd(repomd, sig, await readGpgKey(spec, ctx, auth), { url: safeUrl(url), key: spec.gpgkey });
    trust = `repomd.xml.asc (gpgv with ${posix.basename(spec.gpgkey)})`;
  }
  const entries = new Map((await readRepomd([repomd], safeUrl(url))).map((e) => [e.type, e]));
  if (!entries.has('primary')) throw new UpstreamError(`${safeUrl(url)}: lists no primary metadata`, { subject: safeUrl(url) });
  return { base, auth, name: repoName(spec), entries, trust };
}

/** One repodata file into the cache, checked against repomd's `checksum` while it streams. */
async function fetchData(repo: Repo, entry: RepomdEntry, ctx: SourceContext): Promise<Descriptor> {
  const url = new URL(entry.href, repo.base).toString();
  const what = safeUrl(url);
  const algo = hashName(entry.checksum.type, what);
  if (!(algo === 'sha256' ? /^[0-9a-f]{64}$/ : /^[0-9a-f]+$/).test(entry.checksum.value)) throw new UpstreamError(`${safeUrl(repo.base)}repodata/repomd.xml: the ${entry.type} checksum is not hex`, { subject: what });
  const refKey = `yum-data:${algo}:${entry.checksum.value}`;
  if (algo === 'sha256') {
    const digest = 'sha256:' + entry.checksum.value;
    const size = await ctx.store.size(digest);
    if (size !== undefined) return { mediaType: 'application/octet-stream', digest, size };
  } else {
    const known = await ctx.store.getRef<Descriptor>(refKey);
    if (known && (await ctx.store.has(known.digest))) return known;
  }
  // The transfer engine (docs/transfers.md) checks repomd's checksum while the bytes stream.
  const got = await ctx.transfer.fetch({
    url, headers: authHeaders(url, repo.auth), size: entry.size, subject: `${what} (repomd.xml ${entry.type} checksum)`, statusHint: authHint(repo.auth),
    ...(algo === 'sha256'
      ? { digest: 'sha256:' + entry.checksum.value }
      : { integrity: { algorithm: algo, value: entry.checksum.value, encoding: 'hex' as const, source: `repomd.xml ${entry.type} checksum` } }),
  });
  const d: Descriptor = { mediaType: 'application/octet-stream', digest: got!.digest, size: got!.size };
  if (algo !== 'sha256') await ctx.store.setRef(refKey, d);
  return d;
}

/** The decompressed bytes of a cached repodata file, checked against `open-checksum` at the end. */
async function* readData(repo: Repo, entry: RepomdEntry, d: Descriptor, ctx: SourceContext): AsyncGenerator<Buffer> {
  const what = safeUrl(new URL(entry.href, repo.base));
  const h = entry.openChecksum ? createHash(hashName(entry.openChecksum.type, what)) : undefined;
  for await (const c of decompress(ctx.store.open(d.digest), compressionOf(entry.href), what)) {
    h?.update(c);
    yield c;
  }
  if (h && entry.openChecksum) {
    const got = h.digest('hex');
    if (got !== entry.openChecksum.value) {
      throw new IntegrityError(`${what}: open-checksum mismatch: repomd.xml says ${entry.openChecksum.value}, the decompressed file has ${got}`, { subject: what });
    }
  }
}

async function readText(chunks: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}

function globRegex(glob: string): RegExp {
  return new RegExp('^' + glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

export interface YumResolution {
  repo: string;
  closure: ClosureResult;
  activeModules: string[];
  artifacts: Artifact[];
}

/** The closure of one manifest entry (exported for tests; `resolve` returns its artifacts). */
export async function resolveYum(spec: YumSpec, ctx: SourceContext): Promise<YumResolution> {
  const repo = await openRepo(spec, ctx);
  const arches = new Set(spec.arch ?? DEFAULT_ARCH);
  const excluded = (spec.exclude ?? []).map(globRegex);
  const primary = repo.entries.get('primary')!;
  const primaryBlob = await fetchData(repo, primary, ctx);
  let packages: RpmPackage[] = [];
  const primaryWhat = safeUrl(new URL(primary.href, repo.base));
  await readPrimary(readData(repo, primary, primaryBlob, ctx), primaryWhat, (p) => {
    if (arches.has(p.arch) && !excluded.some((r) => r.test(p.name))) packages.push(p);
  });

  const artifacts: Artifact[] = [];
  let activeModules: string[] = [];
  const modulesEntry = repo.entries.get('modules');
  if (modulesEntry) {
    const blob = await fetchData(repo, modulesEntry, ctx);
    const index = parseModules(await readText(readData(repo, modulesEntry, blob, ctx)), safeUrl(new URL(modulesEntry.href, repo.base)));
    const f = filterModular(packages, index, spec.modules ?? [], repo.name);
    packages = f.kept;
    activeModules = f.active;
    artifacts.push({
      kind: 'yum', name: `${repo.name}/modules`, version: '', digest: blob.digest,
      blobs: [{ ...blob, mediaType: MODULES_MEDIA_TYPE }],
      upstream: { url: safeUrl(new URL(modulesEntry.href, repo.base)), integrity: { [modulesEntry.checksum.type]: modulesEntry.checksum.value }, verified: `${repo.trust} → modules ${modulesEntry.checksum.type}` },
      meta: { repo: repo.name, role: 'modules', file: posix.basename(modulesEntry.href), ...(repo.auth ? { auth: repo.auth } : {}) } satisfies YumMeta,
    });
  } else if (spec.modules?.length) {
    throw new UpstreamError(`yum ${repo.name}: the manifest enables modules ${spec.modules.join(', ')}, but the repository has no modules metadata`, { subject: spec.baseurl, hint: 'remove modules: from this entry' });
  }

  const filelists = repo.entries.get('filelists');
  const closure = await resolveClosure({
    candidates: packages,
    roots: spec.packages,
    dependencies: spec.dependencies ?? true,
    repo: repo.name,
    filelists: filelists
      ? async (paths) => readFilelists(readData(repo, filelists, await fetchData(repo, filelists, ctx), ctx), safeUrl(new URL(filelists.href, repo.base)), paths)
      : undefined,
  });
  for (const u of closure.unresolved) ctx.log.warn(`yum ${repo.name}: nothing here provides ${u.requirement} (needed by ${u.neededBy}); another repository or the base system must`);

  for (const p of closure.packages) {
    const url = new URL(p.href, p.base ? withSlash(p.base) : repo.base).toString();
    if (hashName(p.checksum.type, url) !== 'sha256') {
      throw new UpstreamError(`${safeUrl(url)}: primary.xml gives a ${p.checksum.type} checksum; airgap needs sha256 package checksums`, { subject: nevra(p), hint: 'use a repository whose metadata was made with createrepo_c defaults (sha256)' });
    }
    if (!/^[0-9a-f]{64}$/.test(p.checksum.value)) throw new UpstreamError(`${primaryWhat}: ${nevra(p)} has a malformed sha256 checksum`, { subject: nevra(p) });
    const digest = 'sha256:' + p.checksum.value;
    artifacts.push({
      kind: 'yum',
      name: p.name,
      version: formatEvr({ epoch: p.epoch, version: p.version, release: p.release }),
      platform: p.arch,
      digest,
      blobs: [{ mediaType: RPM_MEDIA_TYPE, digest, size: p.size }],
      upstream: { url: safeUrl(url), integrity: { sha256: p.checksum.value }, verified: `${repo.trust} → primary ${primary.checksum.type} → rpm sha256` },
      meta: { repo: repo.name, role: 'rpm', file: posix.basename(p.href), ...(repo.auth ? { auth: repo.auth } : {}), ...(p.license ? { license: p.license } : {}) } satisfies YumMeta,
    });
  }
  return { repo: repo.name, closure, activeModules, artifacts };
}

/**
 * The yum source half (docs/manifest.md): repomd.xml (signature) → primary (checksum, open-checksum) →
 * closure → RPMs checked against primary's sha256 while they stream into the cache.
 */
export const yumSource: SourceHalf<YumSpec> = {
  async resolve(spec, ctx) {
    return (await resolveYum(spec, ctx)).artifacts;
  },

  async fetch(artifact, ctx) {
    const blob = artifact.blobs[0];
    if ((await ctx.store.size(blob.digest)) === blob.size) return;
    const meta = artifact.meta as unknown as YumMeta | undefined;
    const file = String(meta?.file ?? artifact.name);
    const url = artifact.upstream.url;
    await ctx.transfer.fetch({
      url, headers: authHeaders(url, meta?.auth), digest: blob.digest, size: blob.size, mediaType: blob.mediaType, subject: `${file} (${url})`, statusHint: authHint(meta?.auth),
    });
  },
};
