import type { Artifact, BomFacts } from '@airgap/core';
import type { NpmArtifactMeta } from './source.js';

/**
 * purl `pkg:npm/[%40scope/]name@version` (purl-spec npm). Licence: the package.json `license` field as the
 * registry serves it (an SPDX expression by npm's rules; the legacy `{type}` object and `licenses` list
 * are read too). Dependencies: the names in `dependencies` (the production closure is what was packed).
 */
export function npmBom(a: Artifact): BomFacts {
  const m = (a.meta as unknown as Partial<NpmArtifactMeta> | undefined)?.manifest as
    | { license?: unknown; licenses?: unknown; dependencies?: Record<string, string>; homepage?: unknown }
    | undefined;
  const scoped = a.name.startsWith('@') ? a.name.split('/') : undefined;
  const licenses: string[] = [];
  const add = (l: unknown) => {
    if (typeof l === 'string' && l) licenses.push(l);
    else if (l && typeof l === 'object' && typeof (l as { type?: unknown }).type === 'string') licenses.push((l as { type: string }).type);
  };
  add(m?.license);
  if (Array.isArray(m?.licenses)) m.licenses.forEach(add);
  const deps = Object.keys(m?.dependencies ?? {});
  return {
    purl: scoped ? { type: 'npm', namespace: scoped[0], name: scoped[1], version: a.version } : { type: 'npm', name: a.name, version: a.version },
    ...(licenses.length ? { licenses } : {}),
    ...(deps.length ? { dependsOn: deps } : {}),
    ...(typeof m?.homepage === 'string' ? { homepage: m.homepage } : {}),
  };
}
