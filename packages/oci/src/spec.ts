import { cosignVerifySchema } from '@airgap/core';

/** One entry of the manifest's `images:` section (docs/manifest.md). */
export interface ImageSpec {
  /** `[registry/]repository[:tag][@sha256:…]`; short names are Docker Hub's. With both, the tag must point to the digest. */
  ref: string;
  /** `os/arch[/variant]` to keep from a multi-platform index; default: every platform, index byte-for-byte. */
  platforms?: string[];
  /** Carry cosign signatures, attestations and SBOMs attached to the image (referrers API and `sha256-<hex>.sig/.att/.sbom` tags). Default true. */
  signatures?: boolean;
  /** With `platforms`, also keep BuildKit attestation entries (provenance, SBOM) of the kept platforms. Default false. */
  attestations?: boolean;
  /** The image must carry a cosign signature by this key (docs/oci.md "cosign"); overrides `policy.images.verify`. */
  verify?: { cosignKey: string };
}

export const imageSpecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['ref'],
  properties: {
    ref: { type: 'string', minLength: 1, description: '[registry/]repository[:tag][@sha256:<hex>]; a digest pins the image' },
    platforms: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', pattern: '^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$' },
      description: 'os/arch[/variant] to keep from a multi-platform index; default every platform (byte-for-byte)',
    },
    signatures: { type: 'boolean', default: true, description: 'carry cosign signatures/attestations/SBOMs attached to the image' },
    attestations: { type: 'boolean', default: false, description: 'with platforms: keep BuildKit attestation entries of the kept platforms' },
    verify: { ...cosignVerifySchema, description: 'the image must carry a cosign signature by this key (refused with exit 3 otherwise)' },
  },
} as const;
