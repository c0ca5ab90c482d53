import type { Artifact, BomFacts } from '@airgap/core';
import type { AptMeta } from './pool.js';

/**
 * purl `pkg:deb/<name>@<version>?arch=<arch>&distro=<suite>` (purl-spec deb; the vendor namespace is not
 * known from a Packages index, so it is left out). A Packages stanza states no licence (Debian keeps it in
 * /usr/share/doc/<pkg>/copyright inside the .deb), so none is claimed. Dependencies: the package names of
 * Depends and Pre-Depends, every alternative (docs/approval.md).
 */
export function aptBom(a: Artifact): BomFacts {
  const m = a.meta as unknown as Partial<AptMeta> | undefined;
  const control = m?.control ?? {};
  const arch = control.Architecture ?? a.platform;
  const deps = new Set<string>();
  for (const field of ['Pre-Depends', 'Depends']) {
    for (const alt of (control[field] ?? '').split(/[,|]/)) {
      const name = alt.trim().split(/[\s(:[]/)[0];
      if (name) deps.add(name);
    }
  }
  const qualifiers: Record<string, string> = {};
  if (arch) qualifiers.arch = arch;
  if (m?.suite) qualifiers.distro = m.suite;
  return {
    purl: { type: 'deb', name: a.name, version: a.version, qualifiers },
    ...(deps.size ? { dependsOn: [...deps] } : {}),
    ...(control.Homepage ? { homepage: control.Homepage } : {}),
  };
}
