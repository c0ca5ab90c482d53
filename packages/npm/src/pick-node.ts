import { UpstreamError, UsageError, nearestText } from '@airgap/core';
import { type RegistrySpec, type UnsupportedSpec, fetchTarget } from './package-spec.js';
import { pickManifest } from './pick-manifest.js';
import type { Packument, VersionManifest } from './packument.js';
import type { ClosureOptions } from './ideal-tree.js';
import { Edge, TreeNode, collate, loadEdges, satisfies } from './tree-node.js';

/**
 * The nodes an edge may get (arborist build-ideal-tree.js #nodeFromEdge): the version npm-pick-manifest
 * picks from the packument, in a virtual root where its peer set is loaded with it, before placement
 * (ideal-tree.ts) decides where in the tree it goes.
 */
export class NodePicker {
  private readonly picked = new Map<string, VersionManifest>();

  constructor(private readonly opts: ClosureOptions) {}

  async nodeFromManifest(edge: Edge, manifest: VersionManifest): Promise<TreeNode> {
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
  async nodeFromEdge(edge: Edge, parentVr: TreeNode | null, secondEdge: Edge | null): Promise<TreeNode | undefined> {
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
