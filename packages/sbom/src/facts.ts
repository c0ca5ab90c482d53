import type { Artifact, BomFacts, BundleIndex, PurlParts } from '@airgap/core';
import { artifactSize } from '@airgap/core';
import { PackageURL } from 'packageurl-js';
import parseSpdx from 'spdx-expression-parse';

/** The purl string of its parts, encoded by packageurl-js (purl-spec), never by hand. */
export function purlString(p: PurlParts): string {
  const q = p.qualifiers && Object.keys(p.qualifiers).length ? p.qualifiers : undefined;
  return new PackageURL(p.type, p.namespace ?? undefined, p.name, p.version ?? undefined, q, p.subpath ?? undefined).toString();
}

/** Is it a valid SPDX licence expression (a single id or ids joined with AND/OR/WITH)? */
export function isSpdxExpression(text: string): boolean {
  try {
    parseSpdx(text);
    return true;
  } catch {
    return false;
  }
}

/** One artifact as the SBOM and the report describe it. */
export interface DescribedArtifact {
  artifact: Artifact;
  /** Unique in the document: kind, coordinates and digest. */
  ref: string;
  purl: string;
  facts: BomFacts;
  size: number;
  /** Refs of the carried artifacts this one depends on (by name within its kind). */
  dependsOn: string[];
}

/** What the SBOM writers need besides the index. */
export interface SbomInput {
  index: BundleIndex;
  /** airgap/<version> that made the bundle. */
  tool: string;
  facts: (a: Artifact) => BomFacts;
}

/** Every carried artifact with its purl, facts and the dependency edges resolved to other carried artifacts. */
export function describeArtifacts(index: BundleIndex, facts: (a: Artifact) => BomFacts): DescribedArtifact[] {
  const out: DescribedArtifact[] = index.artifacts.map((a) => {
    const f = facts(a);
    return {
      artifact: a,
      ref: `${a.kind}:${a.name}@${a.version}${a.platform ? `[${a.platform}]` : ''}#${a.digest}`,
      purl: purlString(f.purl),
      facts: f,
      size: artifactSize(a),
      dependsOn: [],
    };
  });
  const byName = new Map<string, DescribedArtifact[]>();
  for (const d of out) {
    const k = `${d.artifact.kind}\u0000${normalize(d.artifact.kind, d.artifact.name)}`;
    byName.set(k, [...(byName.get(k) ?? []), d]);
  }
  for (const d of out) {
    const refs = new Set<string>();
    for (const name of d.facts.dependsOn ?? []) {
      for (const t of byName.get(`${d.artifact.kind}\u0000${normalize(d.artifact.kind, name)}`) ?? []) if (t !== d) refs.add(t.ref);
    }
    d.dependsOn = [...refs].sort();
  }
  return out;
}

function normalize(kind: string, name: string): string {
  return kind === 'pypi' ? name.toLowerCase().replace(/[-_.]+/g, '-') : name;
}

/** The hex sha256 of an artifact's identity digest (`sha256:<hex>`), or undefined for another algorithm. */
export function sha256Of(a: Artifact): string | undefined {
  const m = /^sha256:([a-f0-9]{64})$/.exec(a.digest);
  return m?.[1];
}

/** npm's `sha512-<base64>` integrity as hex, the form CycloneDX and SPDX hashes take. */
export function sha512Of(a: Artifact): string | undefined {
  const i = a.upstream.integrity?.integrity;
  const m = i ? /^sha512-([A-Za-z0-9+/=]+)$/.exec(i) : null;
  return m ? Buffer.from(m[1], 'base64').toString('hex') : undefined;
}
