import semver from 'semver';
import { UpstreamError, UsageError, nearestText } from '@airgap/core';
import { type RegistrySpec, type UnsupportedSpec, fetchTarget, parseSpec, specSatisfied } from './package-spec.js';
import { pickManifest } from './pick-manifest.js';
import type { Packument, VersionManifest } from './packument.js';

/*
 * The closure "as npm would install it" is the set of name@version in the tree npm's arborist builds
 * (@npmcli/arborist lib/arborist/build-ideal-tree.js, place-dep.js, can-place-dep.js). npm does not pick
 * the highest version for every edge: an edge already satisfied by a package visible from its node
 * (hoisted higher up) is not resolved again, so the set depends on where packages are placed. This is a
 * port of that placement for registry specs: a queue of nodes by depth then path; for each node, its
 * missing or invalid edges get a version from npm-pick-manifest; each dependency (with its peer set) is
 * placed as high in the tree as it can go without conflicting, replacing an older copy when every
 * dependent of that copy accepts the newer one. Optional peers are not installed (peerDependenciesMeta),
 * bundled dependencies are not fetched, and peer dependencies (npm >= 7) are.
 */

type EdgeType = 'prod' | 'optional' | 'peer' | 'peerOptional';
const CONFLICT = 'CONFLICT';
const OK = 'OK';
const REPLACE = 'REPLACE';
const KEEP = 'KEEP';
type Verdict = typeof CONFLICT | typeof OK | typeof REPLACE | typeof KEEP;

const collate = new Intl.Collator('en').compare;

class Edge {
  peerConflicted = false;
  /** A dependency left out on purpose: an optional one for another platform, or one that failed to resolve. */
  skipped = false;
  readonly spec: RegistrySpec | UnsupportedSpec;
  constructor(readonly from: TreeNode, readonly name: string, readonly rawSpec: string, readonly type: EdgeType) {
    this.spec = parseSpec(name, rawSpec);
  }
  get peer(): boolean {
    return this.type === 'peer' || this.type === 'peerOptional';
  }
  get to(): TreeNode | undefined {
    return this.from.resolve(this.name);
  }
  get valid(): boolean {
    const to = this.to;
    if (!to) return this.type === 'peerOptional';
    return satisfies(to, this);
  }
}

class TreeNode {
  readonly children = new Map<string, TreeNode>();
  readonly edgesOut = new Map<string, Edge>();
  removed = false;
  constructor(
    /** The name it is installed under (an alias name for `npm:` aliases). */
    readonly name: string,
    readonly manifest: VersionManifest | null,
    public parent: TreeNode | null,
  ) {}

  get isRoot(): boolean {
    return this.parent === null;
  }
  get pkgName(): string {
    return this.manifest?.name ?? this.name;
  }
  get version(): string {
    return this.manifest?.version ?? '';
  }
  get depth(): number {
    let d = 0;
    for (let p = this.parent; p; p = p.parent) d++;
    return d;
  }
  get location(): string {
    const parts: string[] = [];
    for (let n: TreeNode | null = this; n && n.parent; n = n.parent) parts.unshift('node_modules/' + n.name);
    return parts.join('/');
  }
  resolve(name: string): TreeNode | undefined {
    for (let n: TreeNode | null = this; n; n = n.parent) {
      const c = n.children.get(name);
      if (c) return c;
    }
    return undefined;
  }
  *ancestry(): Generator<TreeNode> {
    for (let n: TreeNode | null = this; n; n = n.parent) yield n;
  }
  isDescendantOf(other: TreeNode): boolean {
    for (let n: TreeNode | null = this; n; n = n.parent) if (n === other) return true;
    return false;
  }
  bundled(): Set<string> {
    const b = this.manifest?.bundleDependencies ?? this.manifest?.bundledDependencies;
    if (b === true) return new Set(Object.keys(this.manifest?.dependencies ?? {}));
    return new Set(Array.isArray(b) ? b : []);
  }
}

function satisfies(node: TreeNode, edge: Edge): boolean {
  return edge.spec.type !== 'unsupported' && specSatisfied(edge.spec, node.pkgName, node.version);
}

/** arborist Node#loadDeps: peer, optional peer, prod, then optional (which wins over prod). */
function loadEdges(node: TreeNode, pkg: Pick<VersionManifest, 'dependencies' | 'optionalDependencies' | 'peerDependencies' | 'peerDependenciesMeta'>): void {
  const add = (deps: Record<string, string> | undefined, type: EdgeType) => {
    for (const [name, spec] of Object.entries(deps ?? {})) node.edgesOut.set(name, new Edge(node, name, typeof spec === 'string' ? spec : '*', type));
  };
  const meta = pkg.peerDependenciesMeta ?? {};
  const peers = Object.entries(pkg.peerDependencies ?? {});
  add(Object.fromEntries(peers.filter(([n]) => !meta[n]?.optional)), 'peer');
  add(Object.fromEntries(peers.filter(([n]) => meta[n]?.optional)), 'peerOptional');
  add(pkg.dependencies, 'prod');
  add(pkg.optionalDependencies, 'optional');
}

function deepestNestingTarget(start: TreeNode, name: string): TreeNode {
  for (const target of start.ancestry()) {
    if (target.isRoot) return target;
    const e = target.edgesOut.get(name);
    if (!e || !e.peer) return target;
  }
  return start;
}

interface Check {
  target: TreeNode;
  dep: TreeNode;
  edge: Edge;
  parent: Check | null;
  peerPath: TreeNode[];
  preferDedupe: boolean;
  deepest: TreeNode;
  result: Verdict;
  self: Verdict | null;
}

interface Placement {
  edge: Edge;
  dep: TreeNode;
  parent: Placement | null;
  start: TreeNode;
  check: Check | null;
}

export interface ClosureOptions {
  /** Packument of a package name (memoized and prefetched by the caller). */
  packument(name: string): Promise<Packument>;
  /** Start fetching a packument that will probably be needed soon. */
  prefetch?(name: string): void;
  /** Called when a version is placed in the tree (the caller may start its download early). */
  onPlaced?(manifest: VersionManifest): void;
  /** Keep optional dependencies only for these os / cpu values (default: all). */
  os?: string[];
  cpu?: string[];
  /** false: only the named packages. */
  dependencies: boolean;
  warn(message: string): void;
  nodeVersion?: string;
}

export interface ClosureMember {
  manifest: VersionManifest;
  /** Who wanted it first (for messages): `root` or `name@version`. */
  requiredBy: string;
}

/** Resolve root specs (`name@spec`) to the set of name@version npm would install, in a stable order. */
export async function resolveClosure(roots: { name: string; spec: string }[], opts: ClosureOptions): Promise<ClosureMember[]> {
  const builder = new TreeBuilder(opts);
  return builder.build(roots);
}

class TreeBuilder {
  private readonly root: TreeNode;
  private readonly queue: TreeNode[] = [];
  private readonly seen = new Set<TreeNode>();
  /** Nodes in the tree that have an edge named N (to find a node's incoming edges). */
  private readonly dependents = new Map<string, Set<TreeNode>>();
  private readonly picked = new Map<string, VersionManifest>();

  constructor(private readonly opts: ClosureOptions) {
    this.root = new TreeNode('', null, null);
  }

  async build(roots: { name: string; spec: string }[]): Promise<ClosureMember[]> {
    loadEdges(this.root, { dependencies: Object.fromEntries(roots.map((r) => [r.name, r.spec || '*'])) });
    this.index(this.root);
    for (const e of this.root.edgesOut.values()) if (e.spec.type !== 'unsupported') this.opts.prefetch?.(fetchTarget(e.spec).name);
    this.queue.push(this.root);
    while (this.queue.length) {
      if (this.queue.length > 1) this.queue.sort((a, b) => a.depth - b.depth || collate(a.location, b.location));
      const node = this.queue.shift()!;
      if (node.removed || this.seen.has(node)) continue;
      this.seen.add(node);
      if (node !== this.root && !this.opts.dependencies) continue;
      const tasks: { edge: Edge; dep: TreeNode }[] = [];
      for (const edge of this.problemEdges(node)) {
        if (edge.peerConflicted) continue;
        // npm/cli#9249: an optional peer is met by a node already in the tree when one fits.
        const existing = edge.type === 'peerOptional' ? this.findHoistable(node.parent ?? node, edge) : undefined;
        const dep = existing ? await this.nodeFromManifest(edge, existing.manifest!) : await this.nodeFromEdge(edge, null, null);
        if (dep) tasks.push({ edge, dep });
      }
      tasks.sort((a, b) => collate(a.edge.name, b.edge.name));
      for (const { edge, dep } of tasks) this.place({ edge, dep, parent: null, start: edge.from, check: null });
    }
    return this.members();
  }

  private index(node: TreeNode): void {
    for (const name of node.edgesOut.keys()) {
      let s = this.dependents.get(name);
      if (!s) this.dependents.set(name, (s = new Set()));
      s.add(node);
    }
  }

  private unindex(node: TreeNode): void {
    node.removed = true;
    for (const name of node.edgesOut.keys()) this.dependents.get(name)?.delete(node);
    for (const c of node.children.values()) this.unindex(c);
  }

  private edgesIn(node: TreeNode): Edge[] {
    const out: Edge[] = [];
    for (const from of this.dependents.get(node.name) ?? []) {
      const e = from.edgesOut.get(node.name);
      if (e && e.to === node) out.push(e);
    }
    return out;
  }

  private problemEdges(node: TreeNode): Edge[] {
    const bundled = node.isRoot ? new Set<string>() : node.bundled();
    const problems: Edge[] = [];
    for (const edge of node.edgesOut.values()) {
      if (bundled.has(edge.name) || edge.skipped) continue;
      const to = edge.to;
      if (!to) {
        if (edge.type !== 'peerOptional') problems.push(edge);
        continue;
      }
      if (!edge.valid) problems.push(edge);
    }
    return problems;
  }

  /** Breadth-first under `root`, the shallowest node that satisfies the edge (arborist #findHoistableNode). */
  private findHoistable(root: TreeNode, edge: Edge): TreeNode | undefined {
    const queue = [...root.children.values()];
    while (queue.length) {
      const n = queue.shift()!;
      if (n.name === edge.name && satisfies(n, edge)) return n;
      queue.push(...n.children.values());
    }
    return undefined;
  }

  private async nodeFromManifest(edge: Edge, manifest: VersionManifest): Promise<TreeNode> {
    const vr = this.virtualRoot(edge.from);
    const node = new TreeNode(edge.name, manifest, vr);
    loadEdges(node, manifest);
    vr.children.set(node.name, node);
    await this.loadPeerSet(node);
    return node;
  }

  /** A virtual root mirroring `source`'s dependencies, where a dependency and its peer set are loaded. */
  private virtualRoot(source: TreeNode): TreeNode {
    const vr = new TreeNode(source.name, source.manifest, null);
    if (source.isRoot) {
      for (const [n, e] of source.edgesOut) vr.edgesOut.set(n, new Edge(vr, n, e.rawSpec, e.type));
    } else if (source.manifest) loadEdges(vr, source.manifest);
    return vr;
  }

  private async pick(edge: Edge, spec: RegistrySpec | UnsupportedSpec): Promise<VersionManifest | undefined> {
    const who = edge.from.isRoot || !edge.from.manifest ? 'the manifest' : `${edge.from.pkgName}@${edge.from.version}`;
    if (spec.type === 'unsupported') {
      if (edge.type === 'optional' || edge.type === 'peerOptional') return undefined;
      throw new UpstreamError(`npm dependency ${spec.raw} of ${who} cannot be carried: ${spec.why}`, {
        subject: spec.raw,
        hint: 'only registry dependencies (versions, ranges, tags, npm: aliases) can be resolved from a registry',
      });
    }
    const { name, spec: s } = fetchTarget(spec);
    const key = `${name}@${s.type}:${s.fetchSpec}`;
    const memo = this.picked.get(key);
    if (memo) return memo;
    let packument: Packument;
    try {
      packument = await this.opts.packument(name);
    } catch (e) {
      if (edge.type === 'optional' || edge.type === 'peerOptional') {
        if (edge.type === 'optional') this.opts.warn(`optional npm dependency ${spec.raw} of ${who} left out: ${(e as Error).message}`);
        return undefined;
      }
      throw e;
    }
    const mani = pickManifest(packument, s.fetchSpec, this.opts.nodeVersion);
    if (!mani) {
      if (edge.type === 'optional' || edge.type === 'peerOptional') {
        if (edge.type === 'optional') this.opts.warn(`optional npm dependency ${spec.raw} of ${who} left out: no matching version`);
        return undefined;
      }
      const tags = Object.entries(packument['dist-tags'] ?? {}).map(([t, v]) => `${t}=${v}`).join(', ');
      // A version the registry does not have is the manifest's mistake (exit 2, docs/exit-codes.md).
      throw new UsageError(`npm: no version of ${name} matches ${JSON.stringify(s.fetchSpec)} (wanted by ${who})`, {
        subject: spec.raw,
        hint: `the registry has ${Object.keys(packument.versions ?? {}).length} versions${tags ? ` (dist-tags: ${tags})` : ''}${nearestText(s.fetchSpec, Object.keys(packument.versions ?? {}), 'nearest versions')}; fix the spec in the manifest`,
      });
    }
    this.picked.set(key, mani);
    return mani;
  }

  private platformOk(mani: VersionManifest): boolean {
    return listOk(mani.os, this.opts.os) && listOk(mani.cpu, this.opts.cpu);
  }

  private async nodeFromSpec(edge: Edge, spec: RegistrySpec | UnsupportedSpec): Promise<TreeNode | undefined> {
    const mani = await this.pick(edge, spec);
    if (!mani) return undefined;
    const node = new TreeNode(edge.name, mani, null);
    loadEdges(node, mani);
    return node;
  }

  /** arborist #nodeFromEdge: a node for the edge, in a virtual root, with its peer set loaded. */
  private async nodeFromEdge(edge: Edge, parentVr: TreeNode | null, secondEdge: Edge | null): Promise<TreeNode | undefined> {
    const vr = parentVr ?? this.virtualRoot(edge.from);
    const first = await this.nodeFromSpec(edge, edge.spec);
    if (!first) {
      if (!parentVr) edge.skipped = true;
      return undefined;
    }
    if (edge.type === 'optional' && !this.platformOk(first.manifest!)) {
      edge.skipped = true;
      return undefined;
    }
    let node = first;
    if (secondEdge && !secondEdge.valid) {
      const second = await this.nodeFromSpec(secondEdge, secondEdge.spec);
      if (second && satisfies(second, edge)) node = second;
    }
    node.parent = vr;
    vr.children.set(node.name, node);
    await this.loadPeerSet(node);
    return node;
  }

  private async loadPeerSet(node: TreeNode): Promise<void> {
    const peerEdges = [...node.edgesOut.values()].filter((e) => e.peer && !(e.valid && e.to)).sort((a, b) => collate(a.name, b.name));
    const vr = node.parent!;
    for (const edge of peerEdges) {
      if (edge.valid && edge.to) continue;
      const parentEdge = vr.edgesOut.get(edge.name);
      if (!edge.to) {
        if (!parentEdge) {
          await this.nodeFromEdge(edge, vr, null);
          continue;
        }
        await this.nodeFromEdge(parentEdge, vr, edge);
        if (edge.valid) continue;
        edge.peerConflicted = true;
        continue;
      }
      // Something in the peer set already, and not acceptable to this peer: npm warns (ERESOLVE
      // overriding peer dependency) outside the project's own edges; the tree keeps what is there.
      edge.peerConflicted = true;
    }
  }

  private isMine(p: Placement): boolean {
    let top = p;
    while (top.parent) top = top.parent;
    return top.edge.from.isRoot;
  }

  private place(p: Placement): void {
    const { edge, dep } = p;
    if (edge.to && edge.valid) return;
    const start = deepestNestingTarget(p.parent ? p.parent.start : edge.from, edge.name);
    p.start = start;
    let canPlace: Check | null = null;
    let canPlaceSelf: Check | null = null;
    for (const target of start.ancestry()) {
      const targetEdge = target.edgesOut.get(edge.name);
      if (!target.isRoot && targetEdge?.peer) continue;
      const c = this.check(dep, target, edge, p.parent?.check ?? null, [], false);
      if (c.self !== CONFLICT) canPlaceSelf = c;
      if (c.result !== CONFLICT) canPlace = c;
      else break;
    }
    if (!canPlace) {
      if (this.isMine(p)) {
        throw new UpstreamError(`npm cannot resolve ${edge.spec.raw} for ${edge.from.isRoot ? 'the manifest' : `${edge.from.pkgName}@${edge.from.version}`}: it conflicts with ${edge.from.resolve(edge.name)?.pkgName}@${edge.from.resolve(edge.name)?.version} (ERESOLVE)`, {
          subject: edge.spec.raw,
          hint: 'npm install would fail the same way: change the package specs in the manifest so their peer dependencies agree',
        });
      }
      if (!canPlaceSelf) {
        edge.peerConflicted = true;
        this.opts.warn(`npm peer dependency conflict: ${edge.spec.raw} of ${edge.from.pkgName}@${edge.from.version} is overridden (as npm does)`);
        return;
      }
      canPlace = canPlaceSelf;
    }
    p.check = canPlace;
    const verdict = canPlace.result === CONFLICT ? canPlace.self : canPlace.result;
    if (verdict === KEEP) return;
    const target = canPlace.target;
    // a1 -> b1 -> a1 loops become a link to the earlier copy: nothing new to fetch.
    for (const a of target.ancestry()) {
      if (!a.isRoot && a.pkgName === dep.pkgName && a.version === dep.version && a.name === dep.name) return;
    }
    const placed = new TreeNode(dep.name, dep.manifest, target);
    loadEdges(placed, dep.manifest!);
    const old = target.children.get(dep.name);
    if (old) this.unindex(old);
    target.children.set(dep.name, placed);
    this.index(placed);
    for (const e of this.edgesIn(placed)) {
      if (e === edge || e.valid || e.peerConflicted) continue;
      // `npm install` saves, so a node already visited whose edge this placement broke is visited
      // again (arborist, npm/cli#8726), e.g. an optional peer range that a newer hoisted copy misses.
      this.seen.delete(e.from);
      this.queue.push(e.from);
    }
    this.queue.push(placed);
    this.opts.onPlaced?.(dep.manifest!);
    if (this.opts.dependencies) {
      for (const e of placed.edgesOut.values()) {
        if (e.type !== 'peerOptional' && e.spec.type !== 'unsupported' && !placed.bundled().has(e.name)) this.opts.prefetch?.(fetchTarget(e.spec).name);
      }
    }
    const vr = dep.parent!;
    for (const peerEdge of placed.edgesOut.values()) {
      if (!peerEdge.peer || peerEdge.valid || peerEdge.peerConflicted) continue;
      const peer = vr.children.get(peerEdge.name);
      if (!peer || !satisfies(peer, peerEdge)) continue;
      this.place({ edge: peerEdge, dep: peer, parent: p, start: target, check: null });
    }
  }

  private check(dep: TreeNode, target: TreeNode, edge: Edge, parent: Check | null, peerPath: TreeNode[], preferDedupe: boolean): Check {
    const c: Check = {
      target, dep, edge, parent, peerPath,
      preferDedupe: preferDedupe || edge.peer,
      deepest: deepestNestingTarget(parent ? parent.deepest : edge.from, edge.name),
      result: CONFLICT,
      self: null,
    };
    c.result = this.checkCanPlace(c);
    if (!c.self) c.self = c.result;
    return c;
  }

  private checkCanPlace(c: Check): Verdict {
    const { target, dep, edge } = c;
    const current = target.children.get(edge.name);
    const targetEdge = target.edgesOut.get(edge.name);
    if (targetEdge && targetEdge.peer && !target.isRoot) return CONFLICT;
    if (!current && targetEdge && !satisfies(dep, targetEdge) && targetEdge !== edge) return CONFLICT;
    return current ? this.checkCurrent(c, current) : this.checkNoCurrent(c);
  }

  private checkCurrent(c: Check, current: TreeNode): Verdict {
    const { dep, edge, target } = c;
    if (current.pkgName === dep.pkgName && current.version === dep.version) {
      if (satisfies(current, edge) || !satisfies(dep, edge)) return KEEP;
    }
    const tryReplace = Boolean(current.version && dep.version && semver.gte(dep.version, current.version, true));
    if (tryReplace && this.canReplace(current, dep)) {
      const cpp = this.canPlacePeers(c, REPLACE);
      if (cpp !== CONFLICT) return cpp;
    }
    if (satisfies(current, edge)) return KEEP;
    if (c.preferDedupe && !tryReplace && this.canReplace(current, dep)) {
      const cpp = this.canPlacePeers(c, REPLACE);
      if (cpp !== CONFLICT) return cpp;
    }
    if (target !== c.deepest) return CONFLICT;
    if (!edge.peer && target === edge.from) return this.canPlacePeers(c, REPLACE);
    // arborist goes on to weigh clobbering the current node's peer set; that case ends in a conflict here.
    return CONFLICT;
  }

  private checkNoCurrent(c: Check): Verdict {
    const { target, dep, edge } = c;
    let top = c;
    while (top.parent) top = top.parent;
    const current = target !== top.edge.from ? target.resolve(edge.name) : undefined;
    if (current) {
      for (const e of this.edgesIn(current)) {
        if (e.from.isDescendantOf(target) && e.valid && !satisfies(dep, e)) return CONFLICT;
      }
    }
    return this.canPlacePeers(c, OK);
  }

  private canPlacePeers(c: Check, state: Verdict): Verdict {
    c.self = state;
    const peerPath = [...c.peerPath, c.dep];
    let conflict = false;
    for (const peerEdge of c.dep.edgesOut.values()) {
      if (!peerEdge.peer) continue;
      const peer = peerEdge.to;
      if (!peer || peerPath.includes(peer)) continue;
      const target = deepestNestingTarget(c.target, peer.name);
      const child = this.check(peer, target, peerEdge, c, peerPath, true);
      if (child.result === CONFLICT) conflict = true;
    }
    return conflict ? CONFLICT : state;
  }

  /** Every dependent of `current` outside its own subtree accepts `dep` (arborist Node#canReplaceWith). */
  private canReplace(current: TreeNode, dep: TreeNode): boolean {
    if (current.pkgName !== dep.pkgName) return false;
    for (const e of this.edgesIn(current)) {
      if (e.from.isDescendantOf(current)) continue;
      if (!satisfies(dep, e)) return false;
    }
    return true;
  }

  /** The name@version set of the tree, without nodes nothing reaches any more (arborist prunes extraneous nodes). */
  private members(): ClosureMember[] {
    const reached = new Map<TreeNode, string>();
    const todo: [TreeNode, string][] = [];
    for (const e of this.root.edgesOut.values()) {
      const to = e.to;
      if (to && !reached.has(to)) {
        reached.set(to, 'root');
        todo.push([to, 'root']);
      }
    }
    while (todo.length) {
      const [n] = todo.shift()!;
      const bundled = n.bundled();
      for (const e of n.edgesOut.values()) {
        if (bundled.has(e.name) || e.skipped) continue;
        const to = e.to;
        if (to && !reached.has(to)) {
          reached.set(to, `${n.pkgName}@${n.version}`);
          todo.push([to, `${n.pkgName}@${n.version}`]);
        }
      }
    }
    const out = new Map<string, ClosureMember>();
    for (const [n, by] of reached) {
      const key = `${n.pkgName}@${n.version}`;
      if (!out.has(key)) out.set(key, { manifest: n.manifest!, requiredBy: by });
    }
    return [...out.values()].sort((a, b) => collate(a.manifest.name, b.manifest.name) || semver.compare(a.manifest.version, b.manifest.version, true));
  }
}

/** npm-install-checks checkList: `!x` excludes, otherwise the list is what is allowed; no keep-list keeps all. */
function listOk(declared: string[] | undefined, keep: string[] | undefined): boolean {
  if (!keep?.length || !Array.isArray(declared) || !declared.length) return true;
  return keep.some((value) => {
    let match = false;
    let negated = 0;
    for (const d of declared) {
      if (d.startsWith('!')) {
        negated++;
        if (d.slice(1) === value) return false;
      } else if (d === value) match = true;
    }
    return match || negated === declared.length;
  });
}
