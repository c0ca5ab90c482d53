import type { Descriptor } from './descriptor.js';

/** The artifact kinds of README.md; each is one ecosystem package. */
export type ArtifactKind = 'image' | 'chart' | 'apt' | 'yum' | 'pypi' | 'npm' | 'file';

/** How the upstream's own integrity data was checked while the bytes streamed in (docs/manifest.md). */
export interface UpstreamProof {
  /** Where the bytes came from, without credentials. */
  url: string;
  /** The upstream's integrity data, e.g. { sha256: '…' }, { integrity: 'sha512-…' }, { digest: 'sha256:…' }. */
  integrity?: Record<string, string>;
  /** How it was verified, in words: "sha256 from manifest", "InRelease (gpgv) → Packages → SHA256", "none given". */
  verified: string;
}

/**
 * One unit that is published and recorded in the ledger: an image (tag), a chart version, a package
 * file, a plain file. Everything it needs is in `blobs`; the bundle stores each blob once.
 */
export interface Artifact {
  kind: ArtifactKind;
  name: string;
  version: string;
  platform?: string;
  /** The artifact's identity: image index/manifest digest, or the package/file sha256. */
  digest: string;
  /** Every blob the artifact needs; blobs[0] is the main one where that means something. */
  blobs: Descriptor[];
  upstream: UpstreamProof;
  /** For images and OCI charts: the root descriptor listed in the bundle's OCI `index.json`. */
  oci?: { root: Descriptor; refName: string };
  /** Ecosystem-specific facts the publish half needs (target path, filename, version metadata...). */
  meta?: Record<string, unknown>;
}

export function artifactSize(a: Artifact): number {
  return a.blobs.reduce((n, b) => n + b.size, 0);
}

/**
 * `name@version`, except an image, named as Docker names it: `repo:tag`, or `repo@sha256:…` for a digest
 * (never an `@` before a tag).
 */
export function artifactCoordinates(a: { kind: string; name: string; version: string }): string {
  if (!a.version) return a.name;
  const sep = a.kind === 'image' && !/^sha256:/.test(a.version) ? ':' : '@';
  return `${a.name}${sep}${a.version}`;
}

/** `kind name@version [platform]` (images `repo:tag`), the way messages and the ledger name an artifact. */
export function artifactLabel(a: Pick<Artifact, 'kind' | 'name' | 'version' | 'platform'>): string {
  return `${a.kind} ${artifactCoordinates(a)}${a.platform ? ' [' + a.platform + ']' : ''}`;
}

/** `airgap-index.json`, the first entry of the bundle tar (docs/bundle-format.md). */
export interface BundleIndex {
  schema: 'airgap.index/v1';
  name: string;
  created: string;
  artifacts: Artifact[];
  /** Every blob in the bundle, each once. */
  blobs: Descriptor[];
  /**
   * Incremental bundles (`pack --since`): the artifacts the manifest resolved to that were left out
   * because the receipt lists them as inside. Their blobs are not in the bundle; unpack checks with
   * `exists` that the target holds them before it publishes anything (docs/ledger.md).
   */
  base?: Artifact[];
  /**
   * Incremental bundles: blobs of the artifacts above that are NOT carried because the receipt lists them
   * as inside (a new image tag over base layers already there). unpack checks each is at the target
   * before the first push (docs/transfer.md "Incremental bundles carry only new blobs").
   */
  external?: ExternalBlob[];
}

/** A blob an incremental bundle relies on instead of carrying it: where it must already be inside. */
export interface ExternalBlob extends Descriptor {
  /** The artifact kind whose target must hold it (its publish half checks with `blobExists`). */
  kind: ArtifactKind;
  /** The receipt's target it was recorded at (null: a receipt over every target). */
  target: string | null;
  /** The bundle that carried it in, per the receipt (null when the receipt does not say). */
  carriedBy: { name: string; created: string } | null;
}
