import { type Artifact, checkArtifactBasics, checkEnvNames, checkList, checkOptionalText, checkRecord, checkSegment, checkText, fieldError, shown } from '@airgap/core';

/** PEP 503 normalized project name (what the simple index and the mirror's folders use). */
export const PEP503_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** Distribution file names (wheel and sdist names as PyPI serves them). */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+!-]*$/;
/** PEP 440 versions, with the characters the normal and the legacy forms use. */
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.!+_-]*$/;

/**
 * A PyPI artifact of the signed index (docs/security.md): the project name and file name become
 * `pypi/files/<name>/<file>` and links in the generated simple index (HTML-escaped there too);
 * Requires-Python becomes an attribute; core metadata is a form field of the Nexus upload.
 */
export function validatePypi(a: Artifact): void {
  checkArtifactBasics(a);
  checkText(a, 'name', a.name, { max: 128, pattern: PEP503_NAME, expected: 'a PEP 503 normalized project name' });
  checkText(a, 'version', a.version, { max: 128, pattern: VERSION, expected: 'a PEP 440 version' });
  const m = checkRecord(a, 'meta', a.meta);
  const file = checkSegment(a, 'meta.filename', m.filename, { max: 255, pattern: FILE_NAME, expected: 'a distribution file name' });
  if (!/\.(whl|tar\.gz|zip|tar\.bz2|tgz|egg)$/.test(file)) throw fieldError(a, 'meta.filename', `${shown(file)} is not a wheel or sdist file name`);
  if (m.filetype !== 'bdist_wheel' && m.filetype !== 'sdist') throw fieldError(a, 'meta.filetype', 'must be bdist_wheel or sdist');
  checkText(a, 'meta.pyversion', m.pyversion, { max: 128, pattern: /^[A-Za-z0-9._]+$/, expected: 'a python tag' });
  checkOptionalText(a, 'meta.requiresPython', m.requiresPython, { max: 256, empty: true });
  if (a.blobs.length > 2) throw fieldError(a, 'blobs', 'holds more than the file and its .metadata');
  if (m.metadataSource !== undefined && m.metadataSource !== 'pep658' && m.metadataSource !== 'wheel') throw fieldError(a, 'meta.metadataSource', 'must be pep658 or wheel');
  checkEnvNames(a, 'meta.auth', m.auth);
  if (m.metadata !== undefined) {
    const md = checkRecord(a, 'meta.metadata', m.metadata);
    for (const [k, v] of Object.entries(md)) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(k)) throw fieldError(a, 'meta.metadata', `key ${shown(k)} is not a metadata field name`);
      const values = Array.isArray(v) ? checkList(a, `meta.metadata.${k}`, v, 1024) : [v];
      values.forEach((x) => checkText(a, `meta.metadata.${k}`, x, { max: 1 << 20, empty: true, multiline: true }));
    }
  }
}
