import semver from 'semver';
import { UpstreamError } from '@airgap/core';
import { fetchTarget } from './package-spec.js';
import type { Packument, VersionManifest } from './packument.js';
import { CONFLICT, KEEP, type Check, PlaceCheck } from './can-place.js';
import { NodePicker } from './pick-node.js';
import { type Edge, TreeNode, collate, deepestNestingTarget, loadEdges, satisfies } from './tree-node.js';

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

// The phases: the tree model (tree-node.ts), the node an edge gets with its peer set (pick-node.ts), whether it
// may go at a place (can-place.ts), and here the queue, the placement and the closure it leaves.

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
  private readonly picker: NodePicker;
  private readonly placeCheck = new PlaceCheck((node) => this.edgesIn(node));

  constructor(private readonly opts: ClosureOptions) {
    this.root = new TreeNode('', null, null);
    this.picker = new NodePicker(opts);
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
        const dep = existing ? await this.picker.nodeFromManifest(edge, existing.manifest!) : await this.picker.nodeFromEdge(edge, null, null);
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
      const c = this.placeCheck.check(dep, target, edge, p.parent?.check ?? null, [], false);
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

