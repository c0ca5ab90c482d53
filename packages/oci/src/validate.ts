import { type Artifact, checkArtifactBasics, checkList, checkOptionalText, checkRecord, checkText, fieldError, isDigest, shown } from '@airgap/core';
import { COMPONENT, TAG } from './reference.js';

/** `host[:port]` (DNS labels or an IPv4/IPv6 address), as distribution/reference names a registry. */
const REGISTRY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/**
 * An image (or OCI chart) artifact of the signed index (docs/security.md): registry, repository and tag
 * by the distribution grammar (they become target repository names, `index.json` ref names and URL
 * paths); the name and ref name are made of them; every manifest digest is one of the artifact's blobs,
 * the first being the root (`digest`).
 */
export function validateImage(a: Artifact): void {
  checkArtifactBasics(a);
  const m = checkRecord(a, 'meta', a.meta);
  const registry = checkText(a, 'meta.registry', m.registry, { max: 255, pattern: REGISTRY, expected: 'a registry host[:port]' });
  const repository = checkText(a, 'meta.repository', m.repository, { max: 255 });
  if (!repository.split('/').every((c) => COMPONENT.test(c))) throw fieldError(a, 'meta.repository', `${shown(repository)} is not an OCI repository name (lowercase path components)`);
  const tag = checkOptionalText(a, 'meta.tag', m.tag, { max: 128, pattern: TAG, expected: 'an OCI tag' });
  const name = `${registry}/${repository}`;
  if (a.version !== (tag ?? a.digest)) throw fieldError(a, 'version', `must be the tag or, without one, the digest`);
  if (a.name !== name) throw fieldError(a, 'name', `must be ${shown(name)} (meta.registry/meta.repository)`);
  if (!a.oci) throw fieldError(a, 'oci', 'is missing: an image needs its OCI root');
  const refName = tag ? `${name}:${tag}` : `${name}@${a.digest}`;
  if (a.oci.refName !== refName) throw fieldError(a, 'oci.refName', `must be ${shown(refName)}`);
  const manifests = checkList(a, 'meta.manifests', m.manifests, 4096);
  const blobs = new Set(a.blobs.map((b) => b.digest));
  manifests.forEach((d, i) => {
    if (!isDigest(d) || !blobs.has(d)) throw fieldError(a, `meta.manifests[${i}]`, `${shown(d)} is not a digest of one of the artifact's blobs`);
  });
  if (manifests[0] !== a.digest) throw fieldError(a, 'meta.manifests[0]', 'is not the root manifest digest');
  if (m.attachedTo !== undefined && !isDigest(m.attachedTo)) throw fieldError(a, 'meta.attachedTo', `${shown(m.attachedTo)} is not a digest`);
  checkOptionalText(a, 'meta.selectedBy', m.selectedBy, { max: 4096 });
  checkOptionalText(a, 'meta.license', m.license, { max: 4096 });
  checkOptionalText(a, 'meta.cosign', m.cosign, { max: 4096 });
  if (m.upstreamDigest !== undefined && !isDigest(m.upstreamDigest)) throw fieldError(a, 'meta.upstreamDigest', `${shown(m.upstreamDigest)} is not a digest`);
}
