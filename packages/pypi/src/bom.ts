import type { Artifact, BomFacts } from '@airgap/core';
import { normalizeName } from './names.js';
import type { PypiArtifactMeta } from './source.js';

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * purl `pkg:pypi/<normalized name>@<version>?file_name=<file>` (purl-spec pypi). Licence from the core
 * metadata (wheel METADATA or PEP 658): License-Expression, else License when it is one line, else the
 * `License ::` classifiers. Dependencies: Requires-Dist names that are not behind an `extra` marker.
 */
export function pypiBom(a: Artifact): BomFacts {
  const m = a.meta as unknown as Partial<PypiArtifactMeta> | undefined;
  const md = m?.metadata ?? {};
  const expression = list(md.license_expression)[0];
  const text = list(md.license)[0];
  const classifiers = list(md.classifiers).filter((c) => c.startsWith('License ::')).map((c) => c.split('::').pop()!.trim());
  const licenses = expression ? [expression] : text && !text.includes('\n') && text.length <= 100 ? [text] : classifiers;
  const deps = list(md.requires_dist)
    .filter((r) => !/;\s*.*\bextra\s*==/.test(r))
    .map((r) => /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(r)?.[1])
    .filter((n): n is string => Boolean(n))
    .map(normalizeName);
  const home = list(md.home_page)[0];
  return {
    purl: { type: 'pypi', name: normalizeName(a.name), version: a.version, ...(m?.filename ? { qualifiers: { file_name: m.filename } } : {}) },
    ...(licenses.length ? { licenses } : {}),
    ...(deps.length ? { dependsOn: [...new Set(deps)] } : {}),
    ...(home ? { homepage: home } : {}),
  };
}
