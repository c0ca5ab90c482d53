import { createHash } from 'node:crypto';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { type DescribedArtifact, type SbomInput, describeArtifacts, isSpdxExpression, sha256Of, sha512Of } from './facts.js';

export const SBOM_MEDIA_TYPE = 'application/vnd.cyclonedx+json';

const TYPES: Record<string, CDX.Enums.ComponentType> = {
  image: CDX.Enums.ComponentType.Container,
  chart: CDX.Enums.ComponentType.Application,
  file: CDX.Enums.ComponentType.File,
};

/** A stable urn:uuid for the document: the same bundle always gets the same serial number. */
export function serialNumber(input: SbomInput): string {
  const h = createHash('sha256').update(`${input.index.name}\n${input.index.created}\n`);
  for (const a of input.index.artifacts) h.update(`${a.kind} ${a.name} ${a.version} ${a.platform ?? ''} ${a.digest}\n`);
  const hex = h.digest('hex');
  // RFC 9562 layout with version 8 (custom, hash-based) and the RFC variant bits.
  const v = `8${hex.slice(13, 16)}`;
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16) + hex.slice(17, 20);
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${v}-${variant}-${hex.slice(20, 32)}`;
}

function licenses(texts: string[]): CDX.Models.LicenseRepository {
  const repo = new CDX.Models.LicenseRepository();
  // CycloneDX: an expression must stand alone; several stated licences are listed one by one.
  if (texts.length === 1 && isSpdxExpression(texts[0]) && /\s(AND|OR|WITH)\s/i.test(texts[0])) {
    repo.add(new CDX.Models.LicenseExpression(texts[0]));
    return repo;
  }
  for (const t of texts) {
    const id = CDX.SPDX.fixupSpdxId(t);
    repo.add(id ? new CDX.Models.SpdxLicense(id) : new CDX.Models.NamedLicense(t));
  }
  return repo;
}

function component(d: DescribedArtifact): CDX.Models.Component {
  const a = d.artifact;
  const type = TYPES[a.kind] ?? CDX.Enums.ComponentType.Library;
  const c = new CDX.Models.Component(type, a.name, { bomRef: d.ref });
  if (a.version) c.version = a.version;
  c.purl = d.purl;
  const sha256 = sha256Of(a);
  if (sha256) c.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], sha256);
  const sha512 = sha512Of(a);
  if (sha512) c.hashes.set(CDX.Enums.HashAlgorithm['SHA-512'], sha512);
  if (d.facts.licenses?.length) for (const l of licenses(d.facts.licenses)) c.licenses.add(l);
  if (a.upstream.url) c.externalReferences.add(new CDX.Models.ExternalReference(a.upstream.url, CDX.Enums.ExternalReferenceType.Distribution, { comment: `verified: ${a.upstream.verified}` }));
  if (d.facts.homepage && /^https?:\/\//.test(d.facts.homepage)) c.externalReferences.add(new CDX.Models.ExternalReference(d.facts.homepage, CDX.Enums.ExternalReferenceType.Website));
  const props: [string, string][] = [
    ['airgap:kind', a.kind],
    ['airgap:digest', a.digest],
    ['airgap:size', String(d.size)],
    ['airgap:verified', a.upstream.verified],
  ];
  if (a.platform) props.push(['airgap:platform', a.platform]);
  for (const [k, v] of props) c.properties.add(new CDX.Models.Property(k, v));
  return c;
}

/**
 * The bundle's CycloneDX 1.6 JSON SBOM (docs/approval.md): the bundle as the metadata component, every
 * carried artifact a component with purl, sha256 (and npm's sha512), licence where the ecosystem states
 * one, the upstream URL with how it was verified, and `dependsOn` edges where the ecosystem records them.
 * Built with @cyclonedx/cyclonedx-library's models and serializer; deterministic for one index.
 */
export function cyclonedxSbom(input: SbomInput): string {
  const described = describeArtifacts(input.index, input.facts);
  const bom = new CDX.Models.Bom();
  bom.serialNumber = serialNumber(input);
  bom.metadata.timestamp = new Date(input.index.created);
  const [toolName, toolVersion] = input.tool.split('/');
  bom.metadata.tools.components.add(new CDX.Models.Component(CDX.Enums.ComponentType.Application, toolName || 'airgap', { version: toolVersion }));
  const root = new CDX.Models.Component(CDX.Enums.ComponentType.Data, input.index.name, { bomRef: `bundle:${input.index.name}@${input.index.created}`, version: input.index.created });
  root.description = `airgap bundle ${input.index.name} of ${input.index.created}`;
  bom.metadata.component = root;
  const byRef = new Map<string, CDX.Models.Component>();
  for (const d of described) {
    const c = component(d);
    byRef.set(d.ref, c);
    bom.components.add(c);
    root.dependencies.add(c.bomRef);
  }
  for (const d of described) for (const r of d.dependsOn) byRef.get(d.ref)!.dependencies.add(byRef.get(r)!.bomRef);
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6));
  return serializer.serialize(bom, { sortLists: true, space: 2 }) + '\n';
}
