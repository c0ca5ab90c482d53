import type { Artifact } from './artifact.js';

/**
 * A package URL's parts (https://github.com/package-url/purl-spec), before encoding. The SBOM writer
 * (packages/sbom) turns them into the `pkg:` string with packageurl-js, so no ecosystem encodes one by hand.
 */
export interface PurlParts {
  type: string;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers?: Record<string, string>;
  subpath?: string;
}

/**
 * What an ecosystem states about one of its artifacts for the SBOM, the approval report and the
 * licence policy (docs/approval.md). Only facts the upstream gave: no guessing.
 */
export interface BomFacts {
  purl: PurlParts;
  /** Licences as the ecosystem states them: SPDX ids or expressions where it uses SPDX, free text otherwise. */
  licenses?: string[];
  /** Names (as this kind names its artifacts) of the packages this one requires, where the ecosystem records it. */
  dependsOn?: string[];
  /** A home page or source repository the upstream names, besides the download URL. */
  homepage?: string;
}

/** The SPDX license ids in a licence expression (`(MIT OR Apache-2.0)` → MIT, Apache-2.0); free text gives none. */
export function spdxIds(expression: string): string[] {
  return expression
    .replace(/[()]/g, ' ')
    .split(/\s+/)
    .filter((t) => t && !/^(AND|OR|WITH)$/i.test(t) && /^[A-Za-z0-9][A-Za-z0-9.+-]*$/.test(t) && !t.startsWith('LicenseRef-'))
    .map((t) => t.replace(/\+$/, ''));
}

/** The facts an ecosystem without a `bom` hook still has: a generic purl of kind and name. */
export function fallbackFacts(a: Artifact): BomFacts {
  return { purl: { type: 'generic', name: a.name, version: a.version || undefined } };
}
