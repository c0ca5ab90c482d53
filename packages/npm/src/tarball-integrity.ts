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

export { sameIntegrity } from './integrity.js';
