import semver from 'semver';
import { type Edge, type TreeNode, deepestNestingTarget, satisfies } from './tree-node.js';

export const CONFLICT = 'CONFLICT';
export const OK = 'OK';
export const REPLACE = 'REPLACE';
export const KEEP = 'KEEP';
export type Verdict = typeof CONFLICT | typeof OK | typeof REPLACE | typeof KEEP;

export interface Check {
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

/**
 * Can `dep` go at `target` (arborist can-place-dep.js)? OK, REPLACE the copy there, KEEP the copy there, or
 * CONFLICT; a dependency's peer set is checked with it. `edgesIn` gives a node's incoming edges in the tree.
 */
export class PlaceCheck {
  constructor(private readonly edgesIn: (node: TreeNode) => Edge[]) {}

  check(dep: TreeNode, target: TreeNode, edge: Edge, parent: Check | null, peerPath: TreeNode[], preferDedupe: boolean): Check {
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
}
