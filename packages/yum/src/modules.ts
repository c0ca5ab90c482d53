import { parseAllDocuments } from 'yaml';
import { UpstreamError } from '@airgap/core';
import type { RpmPackage } from './primary.js';

/**
 * Modularity (docs/reference/repo-formats.md §4, DNFMOD) as dnf applies it to a repository with `modules` metadata:
 * a module's stream is active when the manifest enables it (`modules: [nodejs:18]`) or, for a module the
 * manifest does not name, when modulemd-defaults names it the default stream. RPMs listed in the
 * artifacts of an active stream are candidates; RPMs of any other stream are not (dnf hides them); and a
 * non-modular RPM is hidden when its name, or a name it provides, is the name of an RPM of an active
 * stream. Not honoured: module profiles (`dnf module install`), module dependencies (`requires:` on other
 * modules), modulemd-obsoletes, and `module_hotfixes` (see docs/yum.md).
 */

export interface ModuleIndex {
  /** `name:stream` of every stream in the metadata. */
  streams: Set<string>;
  /** module name → default stream. */
  defaults: Map<string, string>;
  /** `name:stream` → artifact NEVRAs (`name-epoch:version-release.arch`). */
  artifacts: Map<string, Set<string>>;
}

export function parseModules(text: string, what: string): ModuleIndex {
  const index: ModuleIndex = { streams: new Set(), defaults: new Map(), artifacts: new Map() };
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new UpstreamError(`${what}: not valid modulemd YAML: ${doc.errors[0].message}`, { subject: what });
    const d = doc.toJS({ maxAliasCount: 100 }) as { document?: string; data?: Record<string, any> } | null;
    if (!d?.data) continue;
    if (d.document === 'modulemd' && d.data.name && d.data.stream !== undefined) {
      const id = `${d.data.name}:${d.data.stream}`;
      index.streams.add(id);
      const set = index.artifacts.get(id) ?? new Set<string>();
      for (const n of (d.data.artifacts?.rpms ?? []) as string[]) set.add(String(n));
      index.artifacts.set(id, set);
    } else if (d.document === 'modulemd-defaults' && d.data.module && d.data.stream !== undefined) {
      index.defaults.set(String(d.data.module), String(d.data.stream));
    }
  }
  return index;
}

const nevraWithEpoch = (p: RpmPackage) => `${p.name}-${p.epoch || '0'}:${p.version}-${p.release}.${p.arch}`;

/** Which packages dnf would offer, given the enabled streams. */
export function filterModular(packages: RpmPackage[], index: ModuleIndex, enable: string[], repo: string): { kept: RpmPackage[]; active: string[] } {
  const chosen = new Map<string, string>(index.defaults);
  for (const s of enable) {
    if (!index.streams.has(s)) {
      throw new UpstreamError(`yum ${repo}: module stream ${s} is not in the repository's modules metadata`, {
        subject: s,
        hint: `streams there: ${[...index.streams].sort().join(', ') || 'none'}`,
      });
    }
    const [name, stream] = s.split(':');
    chosen.set(name, stream);
  }
  const active = [...chosen].map(([n, s]) => `${n}:${s}`).filter((id) => index.streams.has(id)).sort();
  const modular = new Set<string>();
  for (const set of index.artifacts.values()) for (const n of set) modular.add(n);
  const activeNevras = new Set<string>();
  for (const id of active) for (const n of index.artifacts.get(id) ?? []) activeNevras.add(n);
  const activeNames = new Set<string>();
  for (const p of packages) if (activeNevras.has(nevraWithEpoch(p))) activeNames.add(p.name);
  const kept = packages.filter((p) => {
    const n = nevraWithEpoch(p);
    if (modular.has(n)) return activeNevras.has(n);
    if (activeNames.has(p.name)) return false;
    return !p.provides.some((d) => activeNames.has(d.name));
  });
  return { kept, active };
}
