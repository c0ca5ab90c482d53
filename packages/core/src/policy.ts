import { type Artifact, artifactLabel } from './artifact.js';
import type { BomFacts } from './bom.js';
import { spdxIds } from './bom.js';
import { UsageError } from './errors.js';
import { formatSize, parseSize } from './size.js';
import { closedObject } from './schema-parts.js';

/**
 * The manifest's `policy:` (docs/manifest.md "policy"): what the site allows to cross. Registry and
 * digest rules are judged from the manifest entries before any upstream request; licence and size rules
 * from the resolved metadata, before anything is downloaded into the bundle.
 */
export interface ManifestPolicy {
  images?: {
    /** Only these registries (`host[:port]`, or `host/path` for a repository prefix). */
    allowRegistries?: string[];
    denyRegistries?: string[];
    /** Every image reference must name its `@sha256:` digest. */
    requireDigest?: boolean;
    /** Every image must carry a cosign signature by this key (an entry's own `verify` wins). */
    verify?: { cosignKey: string };
  };
  /** SPDX ids: an artifact whose stated licence names one of them is refused (any kind). */
  denyLicenses?: string[];
  /** Largest bundle content (sum of blob sizes): `20GiB`, `4.7GB` or bytes. */
  maxBundleSize?: string | number;
}

export const cosignVerifySchema = closedObject(
  { cosignKey: { type: 'string', minLength: 1, description: 'PEM public key (ECDSA P-256) the image must be signed with (cosign `sha256-<digest>.sig` tag); relative to the manifest' } },
  ['cosignKey'],
);

const REGISTRY_LIST = { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[A-Za-z0-9.-]+(:[0-9]+)?(/[^\\s]+)?$', 'x-expected': 'a registry host[:port] or host/path' } };

export const policySchema = {
  type: 'object',
  additionalProperties: false,
  description: 'What may cross (docs/manifest.md "policy"); checked before anything is downloaded, each violation named (exit 2).',
  properties: {
    images: {
      type: 'object',
      additionalProperties: false,
      properties: {
        allowRegistries: { ...REGISTRY_LIST, description: 'only images from these registries (host[:port] or host/path prefix)' },
        denyRegistries: { ...REGISTRY_LIST, description: 'no image from these registries (host[:port] or host/path prefix)' },
        requireDigest: { type: 'boolean', default: false, description: 'every image reference must pin its @sha256: digest' },
        verify: { ...cosignVerifySchema, description: 'every image must carry a cosign signature by this key' },
      },
    },
    denyLicenses: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9.+-]*$', 'x-expected': 'an SPDX license id' }, description: 'SPDX ids refused in any artifact\'s stated licence' },
    maxBundleSize: { oneOf: [{ type: 'string', pattern: '^\\s*[0-9]+(\\.[0-9]+)?\\s*([KMGTkmgt]([Ii]?[Bb])?|[Bb])?\\s*$', 'x-expected': 'a size such as 20GiB' }, { type: 'integer', minimum: 1 }], description: 'largest bundle content (sum of blob sizes)' },
  },
} as const;

/**
 * Does `host/repository` fall under a registry rule (`host[:port]` or `host/path` on a `/` boundary)?
 * A rule without a port names the host on any port.
 */
export function registryRuleMatches(rule: string, registry: string, repository: string): boolean {
  const r = rule.toLowerCase().replace(/\/+$/, '');
  const ruleHost = r.split('/')[0];
  const host = ruleHost.includes(':') ? registry.toLowerCase() : registry.toLowerCase().replace(/:\d+$/, '');
  const full = `${host}/${repository}`.toLowerCase();
  return full === r || full.startsWith(r + '/');
}

/** The image rules (registries, digest) for one image reference already split into its parts. */
export function imageRefViolations(ref: { registry: string; repository: string; digest?: string }, display: string, policy: ManifestPolicy): string[] {
  const p = policy.images;
  if (!p) return [];
  const out: string[] = [];
  if (p.allowRegistries && !p.allowRegistries.some((r) => registryRuleMatches(r, ref.registry, ref.repository))) {
    out.push(`policy.images.allowRegistries: image ${display} is from ${ref.registry}, which is not among ${p.allowRegistries.join(', ')}`);
  }
  const denied = p.denyRegistries?.find((r) => registryRuleMatches(r, ref.registry, ref.repository));
  if (denied) out.push(`policy.images.denyRegistries: image ${display} is from ${denied}, which is denied`);
  if (p.requireDigest && !ref.digest) out.push(`policy.images.requireDigest: image ${display} names no @sha256: digest`);
  return out;
}

/** Licence rule over resolved artifacts (before their bytes are downloaded). */
export function licenseViolations(artifacts: Artifact[], facts: (a: Artifact) => BomFacts, policy: ManifestPolicy): { artifact: Artifact; message: string }[] {
  const deny = new Set((policy.denyLicenses ?? []).map((l) => l.toLowerCase()));
  if (!deny.size) return [];
  const out: { artifact: Artifact; message: string }[] = [];
  for (const a of artifacts) {
    for (const expr of facts(a).licenses ?? []) {
      const hit = spdxIds(expr).find((id) => deny.has(id.toLowerCase()));
      if (hit) {
        out.push({ artifact: a, message: `policy.denyLicenses: ${artifactLabel(a)} is licensed ${expr}, and ${hit} is denied` });
        break;
      }
    }
  }
  return out;
}

/** Size rule: the sum of the distinct blobs the bundle would carry. */
export function sizeViolations(artifacts: Artifact[], policy: ManifestPolicy): string[] {
  if (policy.maxBundleSize === undefined) return [];
  const max = typeof policy.maxBundleSize === 'number' ? policy.maxBundleSize : parseSize(policy.maxBundleSize, 'policy.maxBundleSize');
  const sizes = new Map<string, number>();
  for (const a of artifacts) for (const b of a.blobs) sizes.set(b.digest, b.size);
  const total = [...sizes.values()].reduce((n, s) => n + s, 0);
  if (total <= max) return [];
  const biggest = [...artifacts].sort((x, y) => y.blobs.reduce((n, b) => n + b.size, 0) - x.blobs.reduce((n, b) => n + b.size, 0)).slice(0, 3);
  return [`policy.maxBundleSize: the bundle would hold ${formatSize(total)} (${total} bytes), more than ${formatSize(max)}; largest: ${biggest.map(artifactLabel).join(', ')}`];
}

/** One UsageError (exit 2) naming every violation, each on its own line. */
export function policyError(file: string, violations: string[]): UsageError {
  return new UsageError(`${file}: the manifest's policy refuses ${violations.length === 1 ? 'this' : `these ${violations.length}`}:\n${violations.map((v) => `  ${v}`).join('\n')}`, {
    subject: violations[0]?.split(':')[0] ?? 'policy',
    hint: 'change the entry or the policy (docs/manifest.md "policy"); airgap pack --dry-run lists every refusal',
  });
}
