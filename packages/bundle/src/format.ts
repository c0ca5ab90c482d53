/** The names and small documents of the bundle format (docs/bundle-format.md), shared by the writer and the verifier. */
import type { BundleIndex, Descriptor } from '@airgap/core';
import type { PartInfo } from './parts.js';
import type { RecoveryInfo } from './recovery.js';

export const BUNDLE_SCHEMA = 'airgap.bundle/v1';
export const BUNDLE_JSON = 'bundle.json';
export const SIGNATURE_FILE = 'bundle.json.minisig';
export const SUMS_FILE = 'SHA256SUMS';
export const INDEX_ENTRY = 'airgap-index.json';
/** The CycloneDX SBOM, the second tar entry when present (docs/bundle-format.md, docs/approval.md). */
export const SBOM_ENTRY = 'sbom.cdx.json';
export const OCI_LAYOUT_ENTRY = 'oci-layout';
export const OCI_INDEX_ENTRY = 'index.json';
export const BLOB_PREFIX = 'blobs/sha256/';

export interface BundleDescriptor {
  schema: 'airgap.bundle/v1';
  name: string;
  /** ISO 8601 UTC. */
  created: string;
  /** airgap version that wrote it. */
  tool: string;
  /** Key id (minisign form) of the signing key. */
  signer: string;
  /** airgap-index.json, the first tar entry. */
  index: { sha256: string; size: number };
  parts: PartInfo[];
  /** `bytes` is the sum of the blob sizes (content), not the size of the parts. */
  totals: { artifacts: number; blobs: number; bytes: number };
  base: unknown | null;
  incomplete?: unknown;
  /** PAR2 recovery files beside the parts (`pack --recovery`, docs/bundle-format.md). */
  recovery?: RecoveryInfo;
  /** Set by `airgap split`: the sha256 of the bundle.json it was cut from, and that bundle's signer. */
  split?: { from: string; signer: string | null };
  /** The SBOM entry of the tar (`sbom.cdx.json`); absent in bundles made before it existed. */
  sbom?: { entry: string; sha256: string; size: number; format: string };
  /**
   * airgap's own release carried beside the parts (`pack --include-tool`, docs/release.md): plain files
   * in the bundle directory, outside the tar, listed here and in SHA256SUMS so the inside can check them
   * with sha256sum and minisign before running the tool.
   */
  toolRelease?: CarriedFile[];
  /**
   * Artifacts per kind (those carried and those an incremental bundle builds on). Signed with the rest, so
   * unpack can refuse a kind its target does not take before it reads a single part (docs/config.md, route).
   */
  kinds?: Record<string, number>;
}

export interface CarriedFile {
  file: string;
  size: number;
  sha256: string;
}

/** The names a carried release file may have: the executable and its signature, nothing with a path. */
export const CARRIED_FILE_RE = /^airgap-[0-9A-Za-z.+_-]+-linux-x64(\.minisig)?$/;

/** `yyyymmddThhmmssZ` in UTC, the suffix of a bundle directory's name. */
export function bundleStamp(created: Date): string {
  return created.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

/** The trusted (signed) comment of bundle.json.minisig: names the bundle for `minisign -V` users. */
export function trustedComment(d: Pick<BundleDescriptor, 'name' | 'created' | 'index'>): string {
  return `bundle:${d.name} created:${d.created} index:sha256:${d.index.sha256}`;
}

export const OCI_LAYOUT_BYTES = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }) + '\n');

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * The OCI image layout's index.json: every image or OCI chart root with its ref name, so the extracted
 * tar is readable by standard OCI tools. Deterministic, so the verifier can compare it byte for byte.
 */
export function ociIndexBytes(index: BundleIndex): Buffer {
  const manifests: Descriptor[] = [];
  const seen = new Set<string>();
  for (const a of index.artifacts) {
    if (!a.oci) continue;
    const key = `${a.oci.root.digest} ${a.oci.refName}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const { mediaType, digest, size, annotations } = a.oci.root;
    manifests.push({ mediaType, digest, size, annotations: { ...annotations, [REF_NAME]: a.oci.refName } });
  }
  const doc = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests };
  return Buffer.from(JSON.stringify(doc, null, 2) + '\n');
}

/** Digests every artifact needs (its blobs and OCI root): each must be a blob of the bundle. */
export function neededDigests(index: BundleIndex): Map<string, string> {
  const need = new Map<string, string>();
  // External blobs (incremental bundles) are at the target already, not in the bundle.
  const external = new Set((index.external ?? []).map((b) => b.digest));
  for (const a of index.artifacts) {
    const label = `${a.kind} ${a.name}${a.version ? '@' + a.version : ''}`;
    for (const b of a.blobs) if (!need.has(b.digest) && !external.has(b.digest)) need.set(b.digest, label);
    if (a.oci && !need.has(a.oci.root.digest)) need.set(a.oci.root.digest, label);
  }
  return need;
}
