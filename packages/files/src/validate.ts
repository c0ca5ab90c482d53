import { type Artifact, checkArtifactBasics, checkRelativePath, checkRecord } from '@airgap/core';

/**
 * A `files` artifact of the signed index (docs/security.md): `meta.path` (or the name) is the file's
 * place under `files/` in a mirror or a Nexus raw repository, so it must be a safe relative path.
 */
export function validateFile(a: Artifact): void {
  checkArtifactBasics(a);
  const meta = a.meta === undefined ? {} : checkRecord(a, 'meta', a.meta);
  checkRelativePath(a, meta.path === undefined ? 'name' : 'meta.path', meta.path ?? a.name);
}
