import type { Artifact, BomFacts } from '@airgap/core';
import type { YumMeta } from './source.js';

/**
 * purl `pkg:rpm/<name>@<version>-<release>?arch=<arch>[&epoch=N]` (purl-spec rpm), licence from the rpm
 * header's License tag as primary.xml repeats it (captured at resolve). The closure's requires name
 * capabilities, not packages, so no dependency graph is claimed (docs/approval.md). Modules metadata
 * artifacts are generic.
 */
export function yumBom(a: Artifact): BomFacts {
  const m = a.meta as unknown as Partial<YumMeta> | undefined;
  if (m?.role === 'modules') return { purl: { type: 'generic', name: a.name, version: a.version || undefined } };
  const evr = /^(?:(\d+):)?(.*)$/.exec(a.version)!;
  const qualifiers: Record<string, string> = {};
  if (a.platform) qualifiers.arch = a.platform;
  if (evr[1] && evr[1] !== '0') qualifiers.epoch = evr[1];
  return {
    purl: { type: 'rpm', name: a.name, version: evr[2], qualifiers },
    ...(m?.license ? { licenses: [m.license] } : {}),
  };
}
