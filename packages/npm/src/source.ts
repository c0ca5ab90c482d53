import {
  type Artifact, type SourceContext, type SourceHalf, IntegrityError, UpstreamError, UsageError,
  failStatus, header, redact, safeUrl,
} from '@airgap/core';
import semver from 'semver';
import { type ExpectedHash, expectedHash } from './integrity.js';
import { resolveClosure } from './ideal-tree.js';
import { isValidName, parseSpec, splitPackageArg } from './package-spec.js';
import type { VersionManifest } from './packument.js';
import { Registry, npmConfiguredRegistry } from './registry.js';
import type { NpmSpec } from './spec.js';

export const NPM_TARBALL_MEDIA_TYPE = 'application/vnd.npm.tarball+gzip';

/** What the publish halves need, kept in `artifact.meta` (and so in the signed bundle index). */
export interface NpmArtifactMeta {
  /** The packument's `versions[v]` object as the upstream serves it. */
  manifest: VersionManifest;
  /** The upstream's dist-tags that point at this version. */
  tags: string[];
  /** The upstream's `latest` at pack time. */
  upstreamLatest?: string;
  /**
   * The version `latest` should name among the carried versions of this package: the highest carried
   * version not above the upstream's latest (so a carried prerelease or an old major never becomes latest
   * unless nothing else is carried).
   */
  carriedLatest: string;
  deprecated?: string;
}

interface DigestRef {
  digest: string;
  size: number;
}

function subjectOf(m: VersionManifest): string {
  return `npm ${m.name}@${m.version}`;
}

async function registryFor(spec: NpmSpec, ctx: SourceContext): Promise<Registry> {
  const url = !spec.registry || spec.registry === 'default' ? await npmConfiguredRegistry() : spec.registry;
  return new Registry({ url, tokenEnv: spec.tokenEnv, config: ctx.config, http: ctx.http, transfer: ctx.transfer, signal: ctx.signal });
}

/**
 * One tarball through the transfer engine (docs/transfers.md): one limit, resumed on a cut, checked
 * against the registry's `dist.integrity` (or `shasum`) while it streams; the store's own sha256 becomes
 * the artifact digest. The bytes are never re-packed.
 */
async function download(reg: Registry, m: VersionManifest, ctx: SourceContext, expectedDigest?: string): Promise<DigestRef> {
  const subject = subjectOf(m);
  const hash = expectedHash(m.dist ?? {});
  const tarball = m.dist?.tarball;
  if (!tarball) throw new UpstreamError(`${subject}: the registry gives no dist.tarball`, { subject });
  const url = new URL(tarball, reg.base);
  const source = hash?.source === 'integrity' ? 'dist.integrity' : 'dist.shasum';
  let d;
  try {
    d = (await ctx.transfer.fetch({
      url, headers: reg.headersFor(url), digest: expectedDigest, mediaType: NPM_TARBALL_MEDIA_TYPE, subject,
      ...(hash ? { integrity: { algorithm: hash.algorithm, value: hash.value, encoding: hash.encoding, source } } : {}),
      statusHint: () => `the tarball of ${m.name}@${m.version} is not downloadable`,
    }))!;
  } catch (e) {
    if (e instanceof IntegrityError) {
      const detail = redact(e.message, reg.secrets).replace(`${subject}: `, '');
      throw new IntegrityError(`${subject}: the tarball does not match the registry's ${hash ? source : 'sha256 recorded at pack'}: ${detail}`, { subject, hint: e.hint, cause: e });
    }
    throw e;
  }
  if (hash) await ctx.store.setRef(refKey(hash), { digest: d.digest, size: d.size } satisfies DigestRef);
  return { digest: d.digest, size: d.size };
}

/** --dry-run: the tarball's size from a HEAD (metadata only); the digest is unknown until downloaded. */
async function tarballSize(reg: Registry, m: VersionManifest, ctx: SourceContext): Promise<DigestRef> {
  const url = new URL(m.dist.tarball, reg.base);
  const res = await ctx.transfer.run(async () => {
    const r = await ctx.http.request(url, { method: 'HEAD', headers: reg.headersFor(url), side: 'upstream', signal: ctx.signal });
    await r.body.dump();
    return r;
  });
  if (res.status !== 200) await failStatus(res, 'HEAD', 'upstream', `the tarball of ${m.name}@${m.version} is not downloadable`);
  return { digest: DRY_RUN_DIGEST, size: Number(header(res, 'content-length') ?? 0) };
}

const DRY_RUN_DIGEST = 'sha256:' + '0'.repeat(64);

function refKey(h: ExpectedHash): string {
  return `npm:${h.algorithm}-${h.value}`;
}

/** The store already holds these bytes (an earlier pack): their sha256 is remembered by integrity. */
async function cached(m: VersionManifest, ctx: SourceContext): Promise<DigestRef | undefined> {
  const hash = expectedHash(m.dist ?? {});
  if (!hash) return undefined;
  const ref = await ctx.store.getRef<DigestRef>(refKey(hash));
  return ref && (await ctx.store.has(ref.digest)) ? ref : undefined;
}

function verifiedText(m: VersionManifest): string {
  const h = expectedHash(m.dist ?? {});
  if (!h) return 'none given (the registry lists neither dist.integrity nor dist.shasum); sha256 recorded at pack';
  return h.source === 'integrity' ? `dist.integrity (${h.algorithm}), checked while streaming` : 'dist.shasum (sha1; no dist.integrity given), checked while streaming';
}

/**
 * npm packages (docs/manifest.md `npm`): the closure as npm would install it, tarballs checked against the
 * registry's integrity data. Tarballs are downloaded while the tree is still being resolved (the
 * closure is known package by package), so resolve() returns artifacts with their sha256.
 */
export const npmSource: SourceHalf<NpmSpec> = {
  async resolve(spec, ctx) {
    const roots = spec.packages.map((p) => {
      const { name, spec: s } = splitPackageArg(p.trim());
      if (!isValidName(name)) throw new UsageError(`npm package ${JSON.stringify(p)}: ${JSON.stringify(name)} is not a valid package name`, { subject: p, hint: 'write name, name@range, name@version, name@tag or @scope/name@range' });
      const parsed = parseSpec(name, s);
      if (parsed.type === 'unsupported') throw new UsageError(`npm package ${JSON.stringify(p)}: ${parsed.why}`, { subject: p, hint: 'only registry specs can be carried: a version, a range or a dist-tag' });
      return { name, spec: s };
    });
    const reg = await registryFor(spec, ctx);
    const started = new Map<string, Promise<DigestRef>>();
    const start = (m: VersionManifest) => {
      const key = `${m.name}@${m.version}`;
      let p = started.get(key);
      if (!p) {
        p = (async () => (await cached(m, ctx)) ?? (ctx.dryRun ? tarballSize(reg, m, ctx) : download(reg, m, ctx)))();
        p.catch(() => undefined);
        started.set(key, p);
      }
      return p;
    };

    // The same name twice in one entry (foo@1 and foo@2) cannot sit at one tree root: one tree each.
    const trees: { name: string; spec: string }[][] = [];
    for (const r of roots) {
      const t = trees.find((t) => !t.some((x) => x.name === r.name));
      if (t) t.push(r);
      else trees.push([r]);
    }
    const members = new Map<string, VersionManifest>();
    for (const tree of trees) {
      const closure = await resolveClosure(tree, {
        packument: (name) => reg.packument(name),
        prefetch: (name) => void reg.packument(name),
        onPlaced: (m) => void start(m),
        os: spec.os,
        cpu: spec.cpu,
        dependencies: spec.dependencies !== false,
        warn: (msg) => ctx.log.warn(msg),
      });
      for (const c of closure) members.set(`${c.manifest.name}@${c.manifest.version}`, c.manifest);
    }

    const byName = new Map<string, string[]>();
    for (const m of members.values()) byName.set(m.name, [...(byName.get(m.name) ?? []), m.version]);
    const artifacts: Artifact[] = [];
    for (const m of members.values()) {
      const packument = await reg.packument(m.name);
      const tags = Object.entries(packument['dist-tags'] ?? {}).filter(([, v]) => v === m.version).map(([t]) => t);
      const upstreamLatest = packument['dist-tags']?.latest;
      if (m.deprecated) ctx.log.warn(`npm ${m.name}@${m.version} is deprecated (carried anyway): ${String(m.deprecated)}`);
      const d = await start(m);
      const hash = expectedHash(m.dist ?? {});
      const meta: NpmArtifactMeta = {
        manifest: m,
        tags,
        upstreamLatest,
        carriedLatest: carriedLatest(byName.get(m.name)!, upstreamLatest),
        ...(m.deprecated ? { deprecated: String(m.deprecated) } : {}),
      };
      artifacts.push({
        kind: 'npm',
        name: m.name,
        version: m.version,
        digest: d.digest,
        blobs: [{ mediaType: NPM_TARBALL_MEDIA_TYPE, digest: d.digest, size: d.size }],
        upstream: {
          url: safeUrl(new URL(m.dist.tarball, reg.base)),
          integrity: hash ? { [hash.source]: hash.source === 'integrity' ? String(m.dist.integrity) : String(m.dist.shasum) } : undefined,
          verified: d.digest === DRY_RUN_DIGEST ? verifiedText(m) + ' (dry run: not downloaded)' : verifiedText(m),
        },
        meta: meta as unknown as Record<string, unknown>,
      });
    }
    // Per package, the version that should become `latest` is published first, so a target that
    // picks a latest by itself when none is sent (verdaccio) starts from the right one.
    const rank = (a: Artifact) => ((a.meta as unknown as NpmArtifactMeta).carriedLatest === a.version ? 0 : 1);
    return artifacts.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : rank(x) - rank(y) || semver.compare(x.version, y.version, true)));
  },

  async fetch(artifact, ctx) {
    // resolve() streamed the tarball in; a blob evicted from the cache since is fetched again.
    if (await ctx.store.has(artifact.digest)) return;
    const m = (artifact.meta as unknown as NpmArtifactMeta).manifest;
    const reg = new Registry({ url: new URL('/', artifact.upstream.url).toString(), config: ctx.config, http: ctx.http, transfer: ctx.transfer, signal: ctx.signal });
    await download(reg, { ...m, dist: { ...m.dist, tarball: artifact.upstream.url } }, ctx, artifact.digest);
  },
};

/** Highest carried version not above the upstream latest (prereleases only when nothing else is carried). */
export function carriedLatest(versions: string[], upstreamLatest: string | undefined): string {
  const sorted = [...versions].sort((a, b) => semver.rcompare(a, b, true));
  const notAbove = upstreamLatest && semver.valid(upstreamLatest, true) ? sorted.filter((v) => semver.lte(v, upstreamLatest, true)) : sorted;
  const pool = notAbove.length ? notAbove : sorted;
  return pool.find((v) => !semver.prerelease(v, true)) ?? pool[0];
}
