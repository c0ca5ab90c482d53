import { cosignVerifySchema } from '@airgap/core';
import type { TagSelection } from './tag-select.js';

/** One entry of the manifest's `images:` section (docs/manifest.md). */
export interface ImageSpec {
  /** `[registry/]repository[:tag][@sha256:…]`; short names are Docker Hub's. With both, the tag must point to the digest. */
  ref?: string;
  /** Tag selection (instead of `ref`): `[registry/]repository` without a tag; every tag `tags` selects is carried. */
  repo?: string;
  tags?: TagSelection;
  /** `os/arch[/variant]` to keep from a multi-platform index; default: every platform, index byte-for-byte. */
  platforms?: string[];
  /** Carry cosign signatures, attestations and SBOMs attached to the image (referrers API and `sha256-<hex>.sig/.att/.sbom` tags). Default true. */
  signatures?: boolean;
  /** With `platforms`, also keep BuildKit attestation entries (provenance, SBOM) of the kept platforms. Default false. */
  attestations?: boolean;
  /** The image must carry a cosign signature by this key (docs/oci.md "cosign"); overrides `policy.images.verify`. */
  verify?: { cosignKey: string };
}

const commonImageKeys = {
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
} as const;

const tagSelectionSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    semver: { type: 'string', minLength: 1, description: 'semver range the tag (read loosely: v1.27.3) must satisfy, e.g. ">=1.27 <1.29"' },
    regex: { type: 'string', minLength: 1, description: 'JavaScript regular expression the tag must match (anchor it: "^v?1\\.27")' },
    newest: { type: 'integer', minimum: 1, maximum: 1000, description: 'of the tags left, only the N highest semantic versions' },
  },
  description: 'tag selection against the registry tags/list; every rule given must hold',
} as const;

// One image by `ref`, or the tags `tags` selects from `repo` (docs/manifest.md "images"). An entry with
// keys of both forms is told about the form it came closest to (packages/core document.ts).
export const imageSpecSchema = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['ref'],
      properties: {
        ref: { type: 'string', minLength: 1, description: '[registry/]repository[:tag][@sha256:<hex>]; a digest pins the image' },
        ...commonImageKeys,
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['repo', 'tags'],
      properties: {
        repo: {
          type: 'string', minLength: 1, pattern: '^([^/:@]+(:[0-9]+)?/)?[^:@]+$', 'x-expected': 'a [registry/]repository without a tag or digest',
          description: '[registry/]repository whose tags `tags` selects (instead of ref)',
        },
        tags: tagSelectionSchema,
        ...commonImageKeys,
      },
    },
  ],
} as const;
