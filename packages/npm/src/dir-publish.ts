import semver from 'semver';
import { type ConfinedRoot, type PublishContext, type PublishHalf, TargetError, UsageError, dirMirror } from '@airgap/core';
import { isValidName } from './package-spec.js';
import { type Packument, type VersionManifest, escapeName, tarballFileName } from './packument.js';
import type { NpmArtifactMeta } from './source.js';
import { artifactIntegrity, sameIntegrity } from './tarball-integrity.js';

/**
 * The base written into `dist.tarball` when the target sets no `npm.baseUrl`. npm needs absolute
 * tarball URLs (pacote reads a relative one as a file path), so the packuments carry this reserved,
 * never-resolving host; `airgap serve` and a substituting web server put the real address in its place
 * (docs/npm.md).
 */
export const PLACEHOLDER_BASE = 'http://airgap.invalid/npm/';

/** What `npm/-/<name>/<version>.json` records next to each tarball, so packuments can be rebuilt from all carried versions. */
interface VersionRecord {
  manifest: VersionManifest;
  tags: string[];
  carriedLatest: string;
  integrity: string;
  shasum?: string;
  digest: string;
}

/** `npm/` of the mirror; every write goes through the confined root (docs/security.md). */
function npmRoot(ctx: PublishContext): ConfinedRoot {
  return dirMirror(ctx, 'npm');
}

/** Names come from the signed index; still checked so nothing lands outside `npm/`. */
function checkedName(name: string): string {
  if (!isValidName(name) || name.includes('..')) throw new UsageError(`npm package name ${JSON.stringify(name)} is not safe as a path`, { subject: name });
  return name;
}

function checkedVersion(v: string): string {
  if (!semver.valid(v, true) || v.includes('/')) throw new UsageError(`npm version ${JSON.stringify(v)} is not a valid version`, { subject: v });
  return v;
}

/** Paths relative to `npm/`. */
function paths(name: string, version: string) {
  const dir = `-/${checkedName(name)}`;
  return { dir, tarball: `${dir}/${tarballFileName(name, checkedVersion(version))}`, record: `${dir}/${version}.json` };
}

export function baseUrlOf(ctx: PublishContext): string {
  const settings = (ctx.target.config as { npm?: { baseUrl?: string } }).npm;
  const base = settings?.baseUrl ?? PLACEHOLDER_BASE;
  return base.endsWith('/') ? base : base + '/';
}


async function readRecord(root: ConfinedRoot, rel: string): Promise<VersionRecord | undefined> {
  const path = root.path(rel);
  try {
    const text = await root.readFile(rel, 'utf8');
    return text === undefined ? undefined : (JSON.parse(text) as VersionRecord);
  } catch (e) {
    throw new TargetError(`${path}: cannot read (${(e as Error).message})`, { subject: path, hint: 'the mirror file is damaged: remove it and unpack again' });
  }
}

/**
 * `npm/` in a directory mirror (docs/design.md): tarballs and per-version records under `npm/-/<name>/`,
 * and one packument per package at `npm/<name>` (scoped: `npm/@scope/name`, `npm/@scope%2fname` and
 * `npm/@scope%2Fname`, so every encoding a client sends maps to a file — docs/reference/repo-formats.md §6 pitfall 2).
 */
export const npmDirPublisher: PublishHalf = {
  async exists(a, ctx) {
    const root = npmRoot(ctx);
    const p = paths(a.name, a.version);
    const rec = await readRecord(root, p.record);
    const size = (await root.stat(p.tarball))?.size;
    if (!rec || size === undefined) return 'absent';
    const want = await artifactIntegrity(a, ctx.blobs);
    if (sameIntegrity(rec.integrity, want.integrity) && rec.digest === a.digest && size === a.blobs[0].size && (await root.digest(p.tarball)) === a.digest) return 'present';
    throw new TargetError(`npm ${a.name}@${a.version} is already in ${root.path(p.dir)} with different content (integrity ${rec.integrity}, the bundle carries ${want.integrity})`, {
      subject: root.path(p.tarball),
      hint: 'npm versions are immutable: find out which tarball is right; move the old one away if the new one is meant to replace it',
    });
  },

  async publish(a, ctx) {
    const root = npmRoot(ctx);
    const p = paths(a.name, a.version);
    const meta = a.meta as unknown as NpmArtifactMeta;
    const want = await artifactIntegrity(a, ctx.blobs);
    await root.writeStream(p.tarball, ctx.blobs.open(a.blobs[0]));
    const rec: VersionRecord = { manifest: meta.manifest, tags: meta.tags, carriedLatest: meta.carriedLatest, integrity: want.integrity, shasum: want.shasum, digest: a.digest };
    await root.writeFile(p.record, JSON.stringify(rec));
  },

  /** Rebuild the packument of every package touched, from all versions the mirror holds (earlier bundles too). */
  async finalize(artifacts, ctx) {
    if (ctx.dryRun) return;
    const root = npmRoot(ctx);
    const base = baseUrlOf(ctx);
    for (const name of new Set(artifacts.map((a) => a.name))) {
      const dir = `-/${checkedName(name)}`;
      const files = (await root.readdir(dir)).filter((e) => e.isFile() && e.name.endsWith('.json') && !e.name.startsWith('.')).map((e) => e.name);
      const records: VersionRecord[] = [];
      for (const f of files) {
        const r = await readRecord(root, `${dir}/${f}`);
        if (r) records.push(r);
      }
      if (!records.length) continue;
      const doc = buildPackument(name, records, base);
      const text = JSON.stringify(doc);
      const targets = name.startsWith('@') ? [name, escapeName(name), escapeName(name).replace('%2f', '%2F')] : [name];
      for (const t of targets) {
        // Unchanged packuments are not rewritten: a re-run that finds everything present writes nothing.
        if ((await root.readFile(t, 'utf8').catch(() => undefined)) === text) continue;
        await root.writeFile(t, text);
      }
    }
  },
};

function buildPackument(name: string, records: VersionRecord[], base: string): Packument {
  const versions: Record<string, VersionManifest> = {};
  const tags: Record<string, string> = {};
  const later = (cur: string | undefined, v: string) => !cur || semver.gt(v, cur, true);
  const sorted = records.sort((x, y) => semver.compare(x.manifest.version, y.manifest.version, true));
  for (const r of sorted) {
    const v = r.manifest.version;
    versions[v] = {
      ...r.manifest,
      _id: `${name}@${v}`,
      dist: { ...r.manifest.dist, integrity: r.integrity, ...(r.shasum ? { shasum: r.shasum } : {}), tarball: `${base}-/${name}/${tarballFileName(name, v)}` },
    };
    for (const t of r.tags) if (t !== 'latest' && later(tags[t], v)) tags[t] = v;
    if (r.carriedLatest === v && later(tags.latest, v)) tags.latest = v;
  }
  if (!tags.latest) tags.latest = sorted.map((r) => r.manifest.version).filter((v) => !semver.prerelease(v, true)).pop() ?? sorted[sorted.length - 1].manifest.version;
  return { _id: name, name, 'dist-tags': tags, versions };
}
