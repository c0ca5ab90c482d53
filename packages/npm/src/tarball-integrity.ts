import { createHash } from 'node:crypto';
import type { Artifact, BlobSource } from '@airgap/core';
import type { NpmArtifactMeta } from './source.js';

/**
 * The SRI string a target should hold for this version: the upstream's `dist.integrity`, or (for a
 * registry that gave only a shasum or nothing) the sha512 of the carried tarball.
 */
export async function artifactIntegrity(a: Artifact, blobs: BlobSource): Promise<{ integrity: string; shasum?: string }> {
  const meta = a.meta as unknown as NpmArtifactMeta;
  const dist = meta.manifest.dist ?? ({} as NpmArtifactMeta['manifest']['dist']);
  if (typeof dist.integrity === 'string' && dist.integrity) return { integrity: dist.integrity, shasum: dist.shasum };
  const sha512 = createHash('sha512');
  const sha1 = createHash('sha1');
  for await (const chunk of blobs.open(a.blobs[0])) {
    sha512.update(chunk as Buffer);
    sha1.update(chunk as Buffer);
  }
  return { integrity: 'sha512-' + sha512.digest('base64'), shasum: dist.shasum ?? sha1.digest('hex') };
}

/** Two SRI strings name the same bytes when they share a hash of the same algorithm. */
export function sameIntegrity(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const parse = (s: string) => new Map(s.trim().split(/\s+/).map((t) => {
    const i = t.indexOf('-');
    return [t.slice(0, i), t.slice(i + 1).replace(/\?.*$/, '')] as const;
  }));
  const pa = parse(a);
  const pb = parse(b);
  let shared = false;
  for (const [alg, v] of pa) {
    if (!pb.has(alg)) continue;
    if (pb.get(alg) !== v) return false;
    shared = true;
  }
  return shared;
}
