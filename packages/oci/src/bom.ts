import { type Artifact, type BomFacts, type ManifestPolicy, imageRefViolations } from '@airgap/core';
import { parseImageRef } from './reference.js';
import type { ImageMeta } from './source.js';
import type { ImageSpec } from './spec.js';

/**
 * purl of an image (purl-spec `oci` type): the last path component as name, the digest as version,
 * `repository_url` = registry/repository and the tag (docs/approval.md). The licence is the root's
 * `org.opencontainers.image.licenses` annotation when the image states one.
 */
export function imageBom(a: Artifact): BomFacts {
  const m = a.meta as unknown as Partial<ImageMeta> | undefined;
  const registry = m?.registry ?? a.name.split('/')[0];
  const repository = m?.repository ?? a.name.split('/').slice(1).join('/');
  const qualifiers: Record<string, string> = { repository_url: `${registry}/${repository}` };
  if (m?.tag) qualifiers.tag = m.tag;
  if (a.platform && !a.platform.includes(',')) {
    const [os, arch] = a.platform.split('/');
    if (arch) qualifiers.arch = arch;
    if (os) qualifiers.os = os;
  }
  return {
    purl: { type: 'oci', name: repository.split('/').pop()!, version: m?.upstreamDigest ?? a.digest, qualifiers },
    ...(m?.license ? { licenses: [m.license] } : {}),
  };
}

/** Registry and digest rules, judged from the entry's reference alone (no request). */
export function imagePolicy(spec: ImageSpec, policy: ManifestPolicy): string[] {
  // An entry names its image by `ref`, or (tag selection) by `repo` alone, which never pins a digest.
  const text = spec.ref ?? (spec as { repo?: string }).repo;
  if (typeof text !== 'string') return [];
  let ref;
  try {
    ref = parseImageRef(text);
  } catch {
    return []; // resolve names the bad reference (exit 2) itself
  }
  return imageRefViolations(spec.ref ? ref : { registry: ref.registry, repository: ref.repository }, text, policy);
}
