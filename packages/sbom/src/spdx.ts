import { type DescribedArtifact, type SbomInput, describeArtifacts, isSpdxExpression, sha256Of, sha512Of } from './facts.js';
import { serialNumber } from './cyclonedx.js';

const PURPOSE: Record<string, string> = { image: 'CONTAINER', chart: 'APPLICATION', file: 'FILE' };

function spdxId(i: number): string {
  return `SPDXRef-Package-${i + 1}`;
}

/** SPDX wants a licence expression or NOASSERTION; free text the ecosystem gave goes to licenseComments. */
function declared(d: DescribedArtifact): { licenseDeclared: string; licenseComments?: string } {
  const l = d.facts.licenses ?? [];
  if (!l.length) return { licenseDeclared: 'NOASSERTION' };
  const expr = l.length === 1 ? l[0] : l.map((x) => `(${x})`).join(' AND ');
  return isSpdxExpression(expr) ? { licenseDeclared: expr } : { licenseDeclared: 'NOASSERTION', licenseComments: `as the upstream states it: ${l.join('; ')}` };
}

/**
 * The same content as an SPDX 2.3 JSON document (docs/approval.md): one package per carried artifact
 * with its purl, checksums, download location and declared licence; DESCRIBES and DEPENDS_ON
 * relationships. Written by hand: the fields are few and fixed by the SPDX 2.3 spec (§7, §11).
 */
export function spdxSbom(input: SbomInput): string {
  const described = describeArtifacts(input.index, input.facts);
  const ids = new Map(described.map((d, i) => [d.ref, spdxId(i)]));
  const packages = described.map((d, i) => {
    const a = d.artifact;
    const checksums = [
      ...(sha256Of(a) ? [{ algorithm: 'SHA256', checksumValue: sha256Of(a)! }] : []),
      ...(sha512Of(a) ? [{ algorithm: 'SHA512', checksumValue: sha512Of(a)! }] : []),
    ];
    return {
      SPDXID: spdxId(i),
      name: a.name,
      ...(a.version ? { versionInfo: a.version } : {}),
      downloadLocation: /^[a-z][a-z0-9+.-]*:\/\//i.test(a.upstream.url) ? a.upstream.url : 'NOASSERTION',
      filesAnalyzed: false,
      ...(checksums.length ? { checksums } : {}),
      licenseConcluded: 'NOASSERTION',
      ...declared(d),
      copyrightText: 'NOASSERTION',
      ...(d.facts.homepage && /^https?:\/\//.test(d.facts.homepage) ? { homepage: d.facts.homepage } : {}),
      comment: `airgap ${a.kind}${a.platform ? ` [${a.platform}]` : ''}, ${d.size} bytes; verified: ${a.upstream.verified}`,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: d.purl }],
      primaryPackagePurpose: PURPOSE[a.kind] ?? 'LIBRARY',
    };
  });
  const relationships = [
    ...described.map((d) => ({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: ids.get(d.ref)! })),
    ...described.flatMap((d) => d.dependsOn.map((r) => ({ spdxElementId: ids.get(d.ref)!, relationshipType: 'DEPENDS_ON', relatedSpdxElement: ids.get(r)! }))),
  ];
  const doc = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${input.index.name}-${input.index.created}`,
    documentNamespace: `urn:airgap:bundle:${encodeURIComponent(input.index.name)}:${serialNumber(input).slice('urn:uuid:'.length)}`,
    creationInfo: { created: input.index.created, creators: [`Tool: ${input.tool.replace('/', '-')}`] },
    packages,
    relationships,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
