import { type Descriptor, isDigest } from '@airgap/core';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/**
 * All four manifest types, no q-values: a partial list gets down-converted or single-platform manifests
 * (wrong digests), and older Nexus ignores q-weighting (docs/reference/repo-formats.md §1 pitfall 1, docs/reference/nexus-api.md §3).
 */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(', ');

export function isIndexType(mt: string | undefined): boolean {
  return mt === OCI_INDEX || mt === DOCKER_LIST;
}

export function isManifestType(mt: string | undefined): boolean {
  return mt === OCI_MANIFEST || mt === DOCKER_MANIFEST || isIndexType(mt);
}

/** OCI manifests and indexes are at most 4 MiB (distribution-spec recommends servers accept this much). */
export const MAX_MANIFEST_BYTES = 4 << 20;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
}

export interface IndexEntry extends Descriptor {
  platform?: Platform;
}

export interface ParsedIndex {
  kind: 'index';
  mediaType: string;
  manifests: IndexEntry[];
  raw: Record<string, unknown>;
}

export interface ParsedManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export type Parsed = ParsedIndex | ParsedManifest;

function checkDescriptor(d: unknown, where: string): Descriptor {
  const o = d as Descriptor;
  if (!o || typeof o !== 'object' || !isDigest(o.digest) || !Number.isSafeInteger(o.size) || o.size < 0 || typeof o.mediaType !== 'string') {
    throw new Error(`${where}: not a valid descriptor (mediaType, sha256 digest, size)`);
  }
  return o;
}

/**
 * Parse manifest bytes. The media type comes from the `mediaType` field when present (it must then
 * agree with what the registry or parent said: distribution-spec §Pulling), else from `contentType`.
 * Throws a plain Error with the reason; callers wrap it naming the image.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): Parsed {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new Error('manifest is not JSON');
  }
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const ct = contentType?.split(';')[0].trim();
  if (declared && ct && isManifestType(ct) && declared !== ct) {
    throw new Error(`manifest says mediaType ${declared} but was served as ${ct}`);
  }
  const mediaType = declared ?? (ct && isManifestType(ct) ? ct : Array.isArray(doc.manifests) ? OCI_INDEX : OCI_MANIFEST);
  if (doc.schemaVersion !== 2) throw new Error(`schemaVersion ${String(doc.schemaVersion)} is not supported (only schema 2 / OCI)`);
  if (isIndexType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw new Error('index without manifests');
    const manifests = doc.manifests.map((m, i) => checkDescriptor(m, `manifests[${i}]`) as IndexEntry);
    return { kind: 'index', mediaType, manifests, raw: doc };
  }
  if (!isManifestType(mediaType)) throw new Error(`unsupported manifest media type ${mediaType}`);
  const config = checkDescriptor(doc.config, 'config');
  const layers = Array.isArray(doc.layers) ? doc.layers.map((l, i) => checkDescriptor(l, `layers[${i}]`)) : [];
  return { kind: 'manifest', mediaType, config, layers };
}

/** A descriptor with only the fields the OCI layout and the index need. */
export function plainDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.annotations) out.annotations = d.annotations;
  return out;
}

/** `linux/arm64/v8` → Platform; throws on anything else. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant, ...more] = s.split('/');
  if (!os || !architecture || more.length) throw new Error(`platform ${JSON.stringify(s)} is not os/arch[/variant]`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform | undefined): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** A requested platform matches an entry; without a requested variant any variant matches (image-spec index). */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  return want.os === have.os && want.architecture === have.architecture && (!want.variant || want.variant === have.variant);
}

/** BuildKit stores provenance/SBOM as index entries `unknown/unknown` with this annotation (docs/reference/repo-formats.md §1 [ATT]). */
export function isAttestationEntry(e: IndexEntry): boolean {
  return e.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (e.platform?.os === 'unknown' && e.platform?.architecture === 'unknown');
}
