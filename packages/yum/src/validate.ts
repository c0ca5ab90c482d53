import { type Artifact, checkArtifactBasics, checkEnvNames, checkOptionalText, checkRecord, checkSegment, checkText, fieldError } from '@airgap/core';

/** RPM package names (Fedora naming guidelines, what rpmbuild accepts in practice). */
export const RPM_NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;
/** `[epoch:]version[-release]` with rpm's version characters. */
export const RPM_EVR = /^(?:\d+:)?[A-Za-z0-9_~^][A-Za-z0-9._+~^]*(?:-[A-Za-z0-9_~^][A-Za-z0-9._+~^]*)?$/;
export const RPM_ARCH = /^[A-Za-z0-9_]+$/;
/** A mirror or file name: one safe segment (`yum/<repo>/Packages/<file>`). */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~^-]*$/;

/**
 * A yum artifact of the signed index (docs/security.md): NEVRA of an RPM, the mirror name and the file
 * name (both path segments under `yum/`), or a repository's `modules` metadata (`<repo>/modules`).
 */
export function validateYum(a: Artifact): void {
  checkArtifactBasics(a);
  const m = checkRecord(a, 'meta', a.meta);
  const repo = checkSegment(a, 'meta.repo', m.repo, { max: 128, pattern: SAFE_NAME, expected: 'a safe repository name' });
  const file = checkSegment(a, 'meta.file', m.file, { max: 255, pattern: SAFE_NAME, expected: 'a safe file name' });
  checkEnvNames(a, 'meta.auth', m.auth);
  checkOptionalText(a, 'meta.license', m.license, { max: 4096 });
  if (m.role === 'modules') {
    if (a.name !== `${repo}/modules`) throw fieldError(a, 'name', `must be ${repo}/modules for the modules metadata of ${repo}`);
    if (!/\.(ya?ml)(\.(gz|bz2|xz|zst|zck))?$/.test(file)) throw fieldError(a, 'meta.file', 'is not a modules YAML file name');
    return;
  }
  if (m.role !== 'rpm') throw fieldError(a, 'meta.role', 'must be rpm or modules');
  checkText(a, 'name', a.name, { max: 255, pattern: RPM_NAME, expected: 'an RPM package name' });
  checkText(a, 'version', a.version, { max: 255, pattern: RPM_EVR, expected: 'an RPM [epoch:]version-release' });
  checkOptionalText(a, 'platform', a.platform, { max: 64, pattern: RPM_ARCH, expected: 'an RPM architecture' });
  if (!file.endsWith('.rpm')) throw fieldError(a, 'meta.file', 'is not an .rpm file name');
}
