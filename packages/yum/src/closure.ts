import { UpstreamError, UsageError, nearestText } from '@airgap/core';
import type { Dep, RpmPackage } from './primary.js';
import { FLAG_OF_OPERATOR, compareEvr, formatEvr, parseEvr, rangesOverlap } from './vercmp.js';

/**
 * The dependency closure of docs/manifest.md `yum`, the way dnf would pick packages into an empty install root
 * (docs/reference/repo-formats.md §4): every `rpm:requires` is matched against `rpm:provides` (names and versioned
 * relations compared as rpm does, vercmp.ts), file requirements against the files primary lists and,
 * for the rest, filelists.xml (loaded only then). Rich (boolean) dependencies: `and`, `or`, `if`,
 * `if … else`, `unless`, `with`, `without`. Not followed: weak dependencies (Recommends, Suggests,
 * Supplements, Enhances), Conflicts and Obsoletes (see docs/yum.md).
 */

export interface ClosureInput {
  /** Packages that may be taken (already filtered by arch, exclude and modularity). */
  candidates: RpmPackage[];
  /** Root requests: `nginx`, `nginx >= 1.20`. */
  roots: string[];
  dependencies: boolean;
  /** Asked at most once per round for file requirements primary does not satisfy: path → pkgids. */
  filelists?: (paths: Set<string>) => Promise<Map<string, string[]>>;
  /** Names the repository in messages. */
  repo: string;
}

export interface ClosureResult {
  packages: RpmPackage[];
  /** Requirements nothing in this repository provides (another repository or the base system may). */
  unresolved: { requirement: string; neededBy: string }[];
}

export type Rich =
  | { op: 'dep'; dep: Dep }
  | { op: 'and' | 'or'; args: Rich[] }
  | { op: 'with' | 'without'; args: Rich[] }
  | { op: 'if' | 'unless'; then: Rich; cond: Rich; else?: Rich };

export const nevra = (p: RpmPackage) => `${p.name}-${formatEvr({ epoch: p.epoch, version: p.version, release: p.release })}.${p.arch}`;
const evrOf = (p: RpmPackage) => ({ epoch: p.epoch, version: p.version, release: p.release });
const key = (p: RpmPackage) => `${p.name}.${p.arch}`;

/** `name`, `name >= 1.2`, `name = 1:2-3` (a manifest root or a simple dependency inside a rich one). */
export function parseSimpleDep(text: string): Dep {
  const m = /^\s*(\S+?)\s*(?:(==|=|<=|>=|<|>)\s*(\S+))?\s*$/.exec(text);
  if (!m) return { name: text.trim() };
  if (!m[2]) return { name: m[1] };
  return { name: m[1], flags: FLAG_OF_OPERATOR[m[2]], evr: parseEvr(m[3]) };
}

const RICH_OPS = new Set(['and', 'or', 'if', 'else', 'unless', 'with', 'without']);

/** rpm's boolean dependency syntax: `(a or (b and c >= 2))`. Throws on malformed input. */
export function parseRich(text: string): Rich {
  const tokens = text.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const expr = (): Rich => {
    if (tokens[i] !== '(') throw new Error(`expected ( at token ${i} of ${text}`);
    i++;
    const terms: Rich[] = [];
    const ops: string[] = [];
    for (;;) {
      if (tokens[i] === '(') terms.push(expr());
      else {
        const words: string[] = [];
        while (i < tokens.length && tokens[i] !== '(' && tokens[i] !== ')' && !RICH_OPS.has(tokens[i])) words.push(tokens[i++]);
        if (!words.length) throw new Error(`empty term in ${text}`);
        terms.push({ op: 'dep', dep: parseSimpleDep(words.join(' ')) });
      }
      if (tokens[i] === ')') {
        i++;
        break;
      }
      if (!RICH_OPS.has(tokens[i])) throw new Error(`unexpected ${tokens[i]} in ${text}`);
      ops.push(tokens[i++]);
    }
    if (!ops.length) return terms[0];
    const first = ops[0];
    if (first === 'if' || first === 'unless') {
      if (ops.length === 2 && ops[1] === 'else') return { op: first, then: terms[0], cond: terms[1], else: terms[2] };
      if (ops.length !== 1) throw new Error(`malformed ${first} in ${text}`);
      return { op: first, then: terms[0], cond: terms[1] };
    }
    if (ops.some((o) => o !== first) || first === 'else') throw new Error(`mixed operators in ${text}`);
    return first === 'with' || first === 'without' ? { op: first, args: terms } : { op: first as 'and' | 'or', args: terms };
  };
  const r = expr();
  if (i !== tokens.length) throw new Error(`trailing text in ${text}`);
  return r;
}

function depText(d: Dep): string {
  return d.flags && d.evr ? `${d.name} ${Object.entries(FLAG_OF_OPERATOR).find(([, f]) => f === d.flags)![0]} ${formatEvr(d.evr)}` : d.name;
}

type Provider = { pkg: RpmPackage; dep: Dep };

/**
 * The packages of one repository and the closure being picked from them (like apt's PackageUniverse):
 * what provides what (names, versioned provides, files), what is selected so far, and the walk.
 */
export class RpmUniverse {
  private readonly providers = new Map<string, Provider[]>();
  private readonly byPkgid = new Map<string, RpmPackage>();
  private readonly selected = new Map<string, RpmPackage>();
  private readonly queue: RpmPackage[] = [];
  private readonly unresolved = new Map<string, string>();
  private readonly deferredFiles: { dep: Dep; requirer: RpmPackage }[] = [];
  private readonly richPending: { rich: Rich; text: string; requirer: RpmPackage }[] = [];

  constructor(private readonly input: ClosureInput) {
    for (const p of input.candidates) {
      this.byPkgid.set(p.checksum.value, p);
      // rpm adds `name = epoch:version-release` to every package; old metadata may not list it.
      this.addProvide(p.name, p, { name: p.name, flags: 'EQ', evr: evrOf(p) });
      for (const d of p.provides) if (d.name !== p.name || d.flags !== 'EQ') this.addProvide(d.name, p, d);
      for (const f of p.files) this.addProvide(f, p, { name: f });
    }
  }

  /** The closure of the roots: every root, then (with `dependencies`) everything they require, file requirements last. */
  async resolve(): Promise<ClosureResult> {
    for (const root of this.input.roots) this.selectRoot(root);
    for (;;) {
      this.drain();
      // Conditional rich dependencies whose condition became true later in the walk.
      let changed = false;
      for (const r of this.richPending) {
        if (!this.satisfied(r.rich) && this.requireRich(r.rich, r.requirer)) {
          this.unresolved.delete(r.text);
          changed = true;
        }
      }
      if (this.queue.length || changed) continue;
      const files = this.deferredFiles.splice(0).filter((f) => !this.requireSimple(f.dep, f.requirer));
      if (!files.length) break;
      await this.loadFileProvides(new Set(files.map((f) => f.dep.name)));
      for (const f of files) if (!this.requireSimple(f.dep, f.requirer)) this.unresolved.set(f.dep.name, nevra(f.requirer));
      if (!this.queue.length) break;
    }
    const packages = [...this.selected.values()].sort((a, b) => (nevra(a) < nevra(b) ? -1 : 1));
    return { packages, unresolved: [...this.unresolved].map(([requirement, neededBy]) => ({ requirement, neededBy })) };
  }

  private addProvide(name: string, pkg: RpmPackage, dep: Dep): void {
    const l = this.providers.get(name);
    if (l) l.push({ pkg, dep });
    else this.providers.set(name, [{ pkg, dep }]);
  }

  /** File requirements primary does not list: asked of filelists.xml (loaded only then). */
  private async loadFileProvides(paths: Set<string>): Promise<void> {
    const holders = this.input.filelists ? await this.input.filelists(paths) : new Map<string, string[]>();
    for (const [path, ids] of holders) for (const id of ids) {
      const p = this.byPkgid.get(id);
      if (p && !(this.providers.get(path) ?? []).some((x) => x.pkg === p)) this.addProvide(path, p, { name: path });
    }
  }

  private providesDep(p: RpmPackage, d: Dep): boolean {
    return (this.providers.get(d.name) ?? []).some((x) => x.pkg === p && rangesOverlap(x.dep, d));
  }

  private providersOf(d: Dep): RpmPackage[] {
    return [...new Set((this.providers.get(d.name) ?? []).filter((x) => rangesOverlap(x.dep, d)).map((x) => x.pkg))];
  }

  private select(p: RpmPackage): RpmPackage {
    const k = key(p);
    const had = this.selected.get(k);
    if (had) return had;
    this.selected.set(k, p);
    this.queue.push(p);
    return p;
  }

  private selectedProvides(d: Dep): boolean {
    return this.providersOf(d).some((p) => this.selected.get(key(p)) === p);
  }

  /**
   * dnf's preference among providers: the package named as required, the requirer's arch (or noarch),
   * then the newest EVR; the name decides ties so the same upstream state always gives the same pick.
   */
  private best(cands: RpmPackage[], d: Dep, requirer?: RpmPackage): RpmPackage | undefined {
    return [...cands].sort((a, b) =>
      Number(b.name === d.name) - Number(a.name === d.name) ||
      (requirer ? Number(b.arch === requirer.arch || b.arch === 'noarch') - Number(a.arch === requirer.arch || a.arch === 'noarch') : 0) ||
      compareEvr(evrOf(b), evrOf(a)) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.arch < b.arch ? -1 : 1))[0];
  }

  /** What the repository has near a root it does not: the versions of that name, else the nearest names (docs/exit-codes.md). */
  private nearestHave(name: string): string {
    const versions = [...new Set(this.input.candidates.filter((p) => p.name === name).sort((a, b) => compareEvr(evrOf(b), evrOf(a))).map((p) => formatEvr(evrOf(p))))];
    if (versions.length) return `; ${name} versions it has: ${versions.slice(0, 5).join(', ')}`;
    return nearestText(name, this.input.candidates.map((p) => p.name), 'nearest names');
  }

  /** A root: the newest match per name and arch (every arch of the filter is mirrored); by provide if no package has the name. */
  private selectRoot(root: string): void {
    const input = this.input;
    const d = parseSimpleDep(root);
    let cands = input.candidates.filter((p) => p.name === d.name && rangesOverlap({ flags: 'EQ', evr: evrOf(p) }, d));
    if (!cands.length) {
      const p = this.best(this.providersOf(d), d);
      if (p) cands = [p];
    }
    if (!cands.length) {
      throw new UsageError(`yum ${input.repo}: no package ${root} (of the architectures asked for)`, {
        subject: root,
        hint: `check the package name, version and arch: against the repository, or whether exclude: or modules: hide it${this.nearestHave(d.name)}`,
      });
    }
    const newest = new Map<string, RpmPackage>();
    for (const p of cands) {
      const cur = newest.get(key(p));
      if (!cur || compareEvr(evrOf(p), evrOf(cur)) > 0) newest.set(key(p), p);
    }
    for (const p of [...newest.values()].sort((a, b) => (key(a) < key(b) ? -1 : 1))) this.select(p);
  }

  private requireSimple(d: Dep, requirer: RpmPackage): boolean {
    if (this.providesDep(requirer, d) || this.selectedProvides(d)) return true;
    const p = this.best(this.providersOf(d), d, requirer);
    if (!p) return false;
    this.select(p);
    return true;
  }

  private satisfied(r: Rich): boolean {
    switch (r.op) {
      case 'dep': return this.selectedProvides(r.dep);
      case 'and': return r.args.every((a) => this.satisfied(a));
      case 'or': return r.args.some((a) => this.satisfied(a));
      case 'if': return this.satisfied(r.cond) ? this.satisfied(r.then) : r.else ? this.satisfied(r.else) : true;
      case 'unless': return !this.satisfied(r.cond) ? this.satisfied(r.then) : r.else ? this.satisfied(r.else) : true;
      case 'with': case 'without': return [...this.selected.values()].some((p) => this.matchesAll(p, r));
    }
  }

  /** `with`/`without`: one package must provide the first term and (not) the others. */
  private matchesAll(p: RpmPackage, r: { op: 'with' | 'without'; args: Rich[] }): boolean {
    const provides = (x: Rich) => x.op === 'dep' && this.providesDep(p, x.dep);
    return provides(r.args[0]) && r.args.slice(1).every((x) => (r.op === 'with' ? provides(x) : !provides(x)));
  }

  private canResolve(r: Rich): boolean {
    switch (r.op) {
      case 'dep': return this.providersOf(r.dep).length > 0;
      case 'and': return r.args.every((a) => this.canResolve(a));
      case 'or': return r.args.some((a) => this.canResolve(a));
      case 'if': case 'unless': return true;
      case 'with': case 'without': return r.args[0].op === 'dep' && this.providersOf(r.args[0].dep).some((p) => this.matchesAll(p, r));
    }
  }

  private requireRich(r: Rich, requirer: RpmPackage): boolean {
    if (this.satisfied(r)) return true;
    switch (r.op) {
      case 'dep': return this.requireSimple(r.dep, requirer);
      case 'and': return r.args.map((a) => this.requireRich(a, requirer)).every(Boolean);
      case 'or': {
        const pick = r.args.find((a) => this.canResolve(a));
        return pick ? this.requireRich(pick, requirer) : false;
      }
      case 'if':
        if (this.satisfied(r.cond)) return this.requireRich(r.then, requirer);
        return r.else ? this.requireRich(r.else, requirer) : true;
      case 'unless':
        if (!this.satisfied(r.cond)) return this.requireRich(r.then, requirer);
        return r.else ? this.requireRich(r.else, requirer) : true;
      case 'with': case 'without': {
        if (r.args[0].op !== 'dep') return false;
        const first = r.args[0].dep;
        const p = this.best(this.providersOf(first).filter((c) => this.matchesAll(c, r)), first, requirer);
        if (!p) return false;
        this.select(p);
        return true;
      }
    }
  }

  /** Walk the queue: each selected package's requirements (rich ones parsed; file ones deferred to filelists). */
  private drain(): void {
    while (this.queue.length) {
      const p = this.queue.shift()!;
      if (!this.input.dependencies) continue;
      for (const d of p.requires) this.require(d, p);
    }
  }

  private require(d: Dep, p: RpmPackage): void {
    if (d.name.startsWith('rpmlib(')) return;
    if (d.name.startsWith('(')) {
      let rich: Rich;
      try {
        rich = parseRich(d.name);
      } catch {
        this.unresolved.set(d.name, nevra(p));
        return;
      }
      this.richPending.push({ rich, text: d.name, requirer: p });
      if (!this.requireRich(rich, p)) this.unresolved.set(d.name, nevra(p));
      return;
    }
    if (this.requireSimple(d, p)) return;
    if (d.name.startsWith('/')) this.deferredFiles.push({ dep: d, requirer: p });
    else this.unresolved.set(depText(d), nevra(p));
  }
}

/** The closure of `input.roots` (docs/yum.md), as dnf would pick it. */
export function resolveClosure(input: ClosureInput): Promise<ClosureResult> {
  return new RpmUniverse(input).resolve();
}
