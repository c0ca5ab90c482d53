import { UpstreamError, UsageError, nearestText } from '@airgap/core';
import { type Stanza, field } from './control.js';
import { type Relation, type RelationGroup, formatRelation, parseProvides, parseRelations } from './relations.js';
import { compareVersions, satisfies } from './version.js';

/**
 * One binary package version from a Packages index, with where it came from. Only the fields the
 * closure needs are kept (a full Debian suite is ~65,000 stanzas); the whole stanza of a selected
 * package is read again from its index afterwards.
 */
export interface Candidate<O = unknown> {
  name: string;
  version: string;
  arch: string;
  multiArch: string;
  depends?: string;
  preDepends?: string;
  /**
   * apt's default pin priority of its source: 500, or 1 for a Release marked `NotAutomatic: yes`
   * (backports, experimental), 100 with `ButAutomaticUpgrades: yes` too (apt_preferences(5)).
   */
  priority: number;
  origin: O;
}

interface Provision<O> {
  by: Candidate<O>;
  version?: string;
}

/** Every package version the listed suites, components and architectures offer. */
export class PackageUniverse<O = unknown> {
  private readonly byName = new Map<string, Candidate<O>[]>();
  private readonly providers = new Map<string, Provision<O>[]>();
  private readonly seen = new Set<string>();
  private readonly sorted = new Set<string>();

  /** Adds a stanza; a (name, version, arch) already known from an earlier source is kept as it was. */
  add(stanza: Stanza, origin: O, priority = 500): Candidate<O> | undefined {
    const name = field(stanza, 'Package')?.toLowerCase();
    const version = field(stanza, 'Version');
    const arch = field(stanza, 'Architecture');
    if (!name || !version || !arch) return undefined;
    const key = `${name}\0${version}\0${arch}`;
    if (this.seen.has(key)) return undefined;
    this.seen.add(key);
    const cand: Candidate<O> = {
      name, version, arch, multiArch: (field(stanza, 'Multi-Arch') ?? 'no').toLowerCase(),
      depends: field(stanza, 'Depends'), preDepends: field(stanza, 'Pre-Depends'), priority, origin,
    };
    push(this.byName, name, cand);
    this.sorted.delete(name);
    for (const p of parseProvidesSafe(field(stanza, 'Provides'))) push(this.providers, p.name, { by: cand, version: p.version });
    return cand;
  }

  get size(): number {
    return this.seen.size;
  }

  /** Every package name known, real or provided (for the nearest names of one it does not have). */
  names(): string[] {
    return [...this.byName.keys(), ...this.providers.keys()];
  }

  /** Versions of a real package, apt's candidate order: highest pin priority first, then newest. */
  versions(name: string): Candidate<O>[] {
    const list = this.byName.get(name) ?? [];
    if (!this.sorted.has(name)) {
      list.sort((a, b) => b.priority - a.priority || compareVersions(b.version, a.version) || cmp(a.arch, b.arch));
      this.sorted.add(name);
    }
    return list;
  }

  provisions(name: string): Provision<O>[] {
    return this.providers.get(name) ?? [];
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function parseProvidesSafe(text: string | undefined) {
  try {
    return parseProvides(text);
  } catch {
    return [];
  }
}

export interface ClosureOptions {
  /** Architectures to take packages for; the first is the native one (`:native`, `all` packages' context). */
  architectures: string[];
  dependencies: boolean;
  alternatives: 'first' | 'all';
  exclude: Set<string>;
  /** For messages: where the packages were looked up. */
  where: string;
}

/**
 * The Depends + Pre-Depends closure of the requested packages (Policy §7): version relations,
 * alternatives (the first satisfiable one, or all), virtual packages through Provides (versioned
 * Provides satisfy versioned relations, unversioned ones only unversioned), `:any`/`:native`
 * qualifiers and `Architecture: all`. Where a relation names a real package, its newest version that
 * satisfies the relation is taken (at the highest pin priority that has one). A purely virtual relation takes every provider, since apt's own
 * pick among providers depends on the target system, and a mirror must serve whichever it picks
 * (docs/reference/repo-formats.md §3 pitfall 4). Excluded names are never entered, so what only they needed stays out.
 */
export function resolveClosure<O>(universe: PackageUniverse<O>, roots: RelationGroup[], opts: ClosureOptions): Candidate<O>[] {
  const native = opts.architectures[0];
  const selected = new Map<string, Candidate<O>>();
  const queue: Candidate<O>[] = [];
  const select = (c: Candidate<O>) => {
    const key = `${c.name}\0${c.version}\0${c.arch}`;
    if (selected.has(key)) return;
    selected.set(key, c);
    queue.push(c);
  };

  const archOk = (c: Candidate<O>, rel: Relation, contextArch: string): boolean => {
    if (c.arch === 'all') return true;
    if (!opts.architectures.includes(c.arch)) return false;
    const q = rel.archQualifier;
    if (!q) return c.arch === contextArch || c.multiArch === 'foreign';
    if (q === 'any') return true;
    if (q === 'native') return c.arch === native;
    return c.arch === q;
  };
  const archRank = (arch: string, contextArch: string) => (arch === contextArch ? 0 : arch === 'all' ? 1 : 2 + opts.architectures.indexOf(arch));

  const satisfiers = (rel: Relation, contextArch: string): Candidate<O>[] => {
    if (opts.exclude.has(rel.name)) return [];
    const real = universe
      .versions(rel.name)
      .filter((c) => archOk(c, rel, contextArch) && (!rel.op || satisfies(c.version, rel.op, rel.version!)));
    if (real.length) {
      // In candidate order already; among equal versions prefer the context's architecture.
      const best = real.reduce((a, b) => (b.priority === a.priority && b.version === a.version && archRank(b.arch, contextArch) < archRank(a.arch, contextArch) ? b : a));
      return [best];
    }
    const byProvider = new Map<string, Candidate<O>>();
    for (const p of universe.provisions(rel.name)) {
      const c = p.by;
      if (opts.exclude.has(c.name) || !archOk(c, rel, contextArch)) continue;
      if (rel.op && !(p.version && satisfies(p.version, rel.op, rel.version!))) continue;
      const k = `${c.name}\0${c.arch}`;
      const prev = byProvider.get(k);
      if (!prev || c.priority > prev.priority || (c.priority === prev.priority && compareVersions(c.version, prev.version) > 0)) byProvider.set(k, c);
    }
    return [...byProvider.values()].sort((a, b) => cmp(a.name, b.name) || cmp(a.arch, b.arch));
  };

  /** Satisfiers of a group, or undefined when it cannot be satisfied; [] when only excluded names could. */
  const satisfyGroup = (group: RelationGroup, contextArch: string): Candidate<O>[] | undefined => {
    const out: Candidate<O>[] = [];
    for (const rel of group) {
      const s = satisfiers(rel, contextArch);
      if (s.length && opts.alternatives === 'first') return s;
      out.push(...s);
    }
    if (out.length) return out;
    return group.some((r) => opts.exclude.has(r.name)) ? [] : undefined;
  };

  for (const group of roots) {
    const archs = group.every((r) => r.archQualifier && r.archQualifier !== 'any' && r.archQualifier !== 'native') ? [native] : opts.architectures;
    let found = false;
    for (const arch of archs) {
      const s = satisfyGroup(group, arch);
      if (s?.length) {
        found = true;
        s.forEach(select);
      }
    }
    if (!found) {
      const text = group.map(formatRelation).join(' | ');
      if (group.every((r) => opts.exclude.has(r.name))) continue;
      throw new UsageError(`apt package ${text} is not in ${opts.where}`, {
        subject: text,
        hint: `check the package name and version, the suite, components and architectures of the manifest entry${group.map((r) => nearestHave(universe, r)).join('')}`,
      });
    }
  }
  if (!opts.dependencies) return sortCandidates([...selected.values()]);

  while (queue.length) {
    const c = queue.shift()!;
    const contextArch = c.arch === 'all' ? native : c.arch;
    let groups: RelationGroup[];
    try {
      groups = [...parseRelations(c.preDepends), ...parseRelations(c.depends)];
    } catch (e) {
      throw new UpstreamError(`apt package ${c.name} ${c.version} has a malformed Depends field: ${(e as Error).message}`, { subject: `${c.name} ${c.version}`, cause: e });
    }
    for (const group of groups) {
      const s = satisfyGroup(group, contextArch);
      if (!s) {
        const text = group.map(formatRelation).join(' | ');
        throw new UpstreamError(`apt package ${c.name} ${c.version} (${c.arch}) depends on ${text}, which nothing in ${opts.where} satisfies`, {
          subject: `${c.name} ${c.version}`,
          hint: 'add the component or suite that holds it to the manifest, or exclude the package that needs it',
        });
      }
      s.forEach(select);
    }
  }
  return sortCandidates([...selected.values()]);
}

function sortCandidates<O>(list: Candidate<O>[]): Candidate<O>[] {
  return list.sort((a, b) => cmp(a.name, b.name) || compareVersions(a.version, b.version) || cmp(a.arch, b.arch));
}

/** What the archive has near a relation it cannot satisfy: the versions of that name, else the nearest names (docs/exit-codes.md). */
function nearestHave<O>(universe: PackageUniverse<O>, rel: Relation): string {
  const versions = [...new Set(universe.versions(rel.name).map((c) => c.version))];
  if (versions.length) return `; ${rel.name} versions it has: ${versions.slice(0, 5).join(', ')}`;
  return nearestText(rel.name, universe.names(), 'nearest names');
}
