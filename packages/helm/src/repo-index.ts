import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import { type SourceContext, UpstreamError, UsageError, failStatus, nearestText, safeUrl } from '@airgap/core';

/** One chart version of an index.yaml: the Chart.yaml fields plus `urls`, `created`, `digest` (docs/reference/repo-formats.md §2). */
export interface IndexEntry {
  name: string;
  version: string;
  urls?: string[];
  digest?: string;
  created?: string;
  [field: string]: unknown;
}

export interface RepoIndex {
  url: string;
  entries: Record<string, IndexEntry[]>;
}

/** index.yaml of big repositories runs to tens of MiB; beyond this it is not an index. */
const MAX_INDEX_BYTES = 256 << 20;

/**
 * Helm's ResolveReferenceURL (docs/reference/repo-formats.md §2): a relative `urls` entry is resolved against the repo
 * URL with a trailing `/`, and the repo's query string (a signed-URL token, say) is kept.
 */
export function resolveChartUrl(repo: string, ref: string): URL {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) return new URL(ref);
  const base = new URL(repo);
  const query = base.search;
  base.search = '';
  base.pathname = base.pathname.replace(/\/+$/, '') + '/';
  const resolved = new URL(ref, base);
  resolved.search = query;
  return resolved;
}

const indexes = new WeakMap<SourceContext, Map<string, Promise<RepoIndex>>>();

/** The repository's index.yaml, fetched once per pack run (many entries share a repository). */
export function repoIndex(repo: string, headers: Record<string, string>, ctx: SourceContext): Promise<RepoIndex> {
  let byRepo = indexes.get(ctx);
  if (!byRepo) indexes.set(ctx, (byRepo = new Map()));
  let p = byRepo.get(repo);
  if (!p) {
    p = fetchIndex(repo, headers, ctx);
    byRepo.set(repo, p);
    p.catch(() => byRepo!.delete(repo));
  }
  return p;
}

/** index.yaml, read whole under the transfer engine's one limit (docs/transfers.md). */
function fetchIndex(repo: string, headers: Record<string, string>, ctx: SourceContext): Promise<RepoIndex> {
  return ctx.transfer.run(() => readIndex(repo, headers, ctx));
}

async function readIndex(repo: string, headers: Record<string, string>, ctx: SourceContext): Promise<RepoIndex> {
  const url = resolveChartUrl(repo, 'index.yaml');
  const res = await ctx.http.request(url, { headers, side: 'upstream', signal: ctx.signal });
  if (res.status !== 200) {
    await failStatus(res, 'GET', 'upstream', res.status === 401 || res.status === 403
      ? 'the repository wants credentials: set usernameEnv/passwordEnv on the chart entry'
      : 'is this the URL of a Helm repository (the folder holding index.yaml)?');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body) {
    size += (c as Buffer).length;
    if (size > MAX_INDEX_BYTES) throw new UpstreamError(`${safeUrl(url)}: larger than ${MAX_INDEX_BYTES} bytes; not a Helm index`, { subject: safeUrl(url) });
    chunks.push(c as Buffer);
  }
  let doc: unknown;
  try {
    // Helm's index can be JSON or YAML; JSON is YAML. Big indexes use many anchors-free entries.
    doc = parseYaml(Buffer.concat(chunks).toString('utf8'), { maxAliasCount: 1000 });
  } catch (e) {
    throw new UpstreamError(`${safeUrl(url)}: not a valid index.yaml: ${(e as Error).message.split('\n')[0]}`, { subject: safeUrl(url), cause: e });
  }
  const entries = (doc as { entries?: unknown } | null)?.entries;
  if (!entries || typeof entries !== 'object' || Array.isArray(entries)) {
    throw new UpstreamError(`${safeUrl(url)}: no entries map; not a Helm repository index`, { subject: safeUrl(url), hint: 'check the repo URL in the manifest' });
  }
  return { url: safeUrl(url), entries: entries as Record<string, IndexEntry[]> };
}

/**
 * The newest version of `name` that `version` (exact or semver range) matches. Prereleases only when
 * asked: `prerelease: true`, or a range that names a prerelease (semver's own rule). Versions that are
 * not semver are ignored, as Helm does.
 */
export function pickVersion(index: RepoIndex, name: string, version: string | undefined, prerelease: boolean): IndexEntry {
  const list = Array.isArray(index.entries[name]) ? index.entries[name] : [];
  if (!list.length) {
    throw new UsageError(`chart ${name} is not in ${index.url}`, { subject: `chart ${name}`, hint: `check the chart name (helm search repo) and the repo URL${nearestText(name, Object.keys(index.entries), 'nearest charts')}` });
  }
  const byVersion = new Map<string, IndexEntry>();
  for (const e of list) {
    const v = e && typeof e === 'object' ? semver.valid(String(e.version)) : null;
    if (v && !byVersion.has(v)) byVersion.set(v, e);
  }
  const wanted = version ?? '*';
  const exact = semver.valid(wanted);
  let chosen: string | null;
  if (exact) chosen = byVersion.has(exact) ? exact : null;
  else {
    if (semver.validRange(wanted) === null) {
      throw new UsageError(`chart ${name}: version ${JSON.stringify(wanted)} is neither a version nor a semver range`, { subject: `chart ${name}`, hint: 'use e.g. 4.11.2, 4.11.x, ^4.11.0 or >=4.0.0 <5.0.0' });
    }
    chosen = semver.maxSatisfying([...byVersion.keys()], wanted, { includePrerelease: prerelease });
  }
  if (!chosen) {
    const newest = [...byVersion.keys()].sort(semver.rcompare).slice(0, 5).join(', ');
    throw new UsageError(`chart ${name}: no version matches ${wanted} in ${index.url}${newest ? ` (newest: ${newest})` : ''}`, {
      subject: `chart ${name}`,
      hint: (prerelease || !exact ? 'widen the version range (prerelease versions need prerelease: true)' : 'pick a version the repository has') + nearestText(wanted, byVersion.keys(), 'nearest versions'),
    });
  }
  return byVersion.get(chosen)!;
}
