import { type Artifact, type BomFacts, digestHex } from '@airgap/core';

/** A plain file: `pkg:generic/<file name>?checksum=sha256:<hex>` plus where it came from (docs/approval.md). */
export function fileBom(a: Artifact): BomFacts {
  const base = a.name.split('/').pop() || a.name;
  const qualifiers: Record<string, string> = { checksum: `sha256:${digestHex(a.digest)}` };
  if (/^https?:\/\//.test(a.upstream.url)) qualifiers.download_url = a.upstream.url;
  return { purl: { type: 'generic', name: base, qualifiers, ...(a.name !== base ? { subpath: a.name } : {}) } };
}
