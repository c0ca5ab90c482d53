import { type RegistrySpec, type UnsupportedSpec, parseSpec, specSatisfied } from './package-spec.js';
import type { VersionManifest } from './packument.js';

/**
 * The tree npm's arborist builds (docs/npm.md; ideal-tree.ts): a node per package at its place under
 * node_modules/, and the edges (dependencies) out of it, each resolved the way Node looks a module up.
 */
export type EdgeType = 'prod' | 'optional' | 'peer' | 'peerOptional';

export const collate = new Intl.Collator('en').compare;

export class Edge {
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

export class TreeNode {
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

export function satisfies(node: TreeNode, edge: Edge): boolean {
  return edge.spec.type !== 'unsupported' && specSatisfied(edge.spec, node.pkgName, node.version);
}

/** arborist Node#loadDeps: peer, optional peer, prod, then optional (which wins over prod). */
export function loadEdges(node: TreeNode, pkg: Pick<VersionManifest, 'dependencies' | 'optionalDependencies' | 'peerDependencies' | 'peerDependenciesMeta'>): void {
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

export function deepestNestingTarget(start: TreeNode, name: string): TreeNode {
  for (const target of start.ancestry()) {
    if (target.isRoot) return target;
    const e = target.edgesOut.get(name);
    if (!e || !e.peer) return target;
  }
  return start;
}
