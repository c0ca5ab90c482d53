import { type Artifact, checkArtifactBasics, checkList, checkOptionalText, checkRecord, checkRelativePath, checkText, fieldError, shown } from '@airgap/core';

/** Debian Policy §5.6.1: lowercase letters, digits, `+ - .`; at least two characters, starting alphanumeric. */
export const DEB_PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
/** Policy §5.6.12: [epoch:]upstream[-revision]; characters A-Za-z0-9 . + ~ - : (and starting alphanumeric). */
export const DEB_VERSION = /^(?:\d+:)?[A-Za-z0-9][A-Za-z0-9.+~:-]*$/;
/** Architecture names (dpkg-architecture): lowercase letters, digits, `-`; `all` too. */
export const DEB_ARCH = /^[a-z0-9][a-z0-9-]*$/;
/** One segment of a suite or component (`bookworm-security`, `updates/main`): no dots at the start, so never `..`. */
export const DEB_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9+_.~-]*$/;
/** A control field name (Policy §5.1): printable US-ASCII except space and colon, not starting with `#` or `-`. */
const FIELD_NAME = /^[!"$-,.-9;-~][!-9;-~]*$/;

/**
 * An apt artifact of the signed index (docs/security.md). The package name, version, architecture,
 * suite, component and architectures become pool paths and `dists/<suite>/<component>/binary-<arch>/`
 * folders; the control fields become lines of the generated Packages file (multi-line values only with
 * continuation lines, as deb822 writes them).
 */
export function validateApt(a: Artifact): void {
  checkArtifactBasics(a);
  checkText(a, 'name', a.name, { max: 128, pattern: DEB_PACKAGE, expected: 'a Debian package name' });
  checkText(a, 'version', a.version, { max: 128, pattern: DEB_VERSION, expected: 'a Debian version' });
  checkOptionalText(a, 'platform', a.platform, { max: 64, pattern: DEB_ARCH, expected: 'a Debian architecture name' });
  const m = checkRecord(a, 'meta', a.meta);
  checkRelativePath(a, 'meta.suite', m.suite, { max: 128, pattern: DEB_SEGMENT, expected: 'a Debian suite name' });
  checkRelativePath(a, 'meta.component', m.component, { max: 128, pattern: DEB_SEGMENT, expected: 'a Debian component name' });
  checkList(a, 'meta.architectures', m.architectures ?? [], 64).forEach((x, i) =>
    checkText(a, `meta.architectures[${i}]`, x, { max: 64, pattern: DEB_ARCH, expected: 'a Debian architecture name' }),
  );
  if (m.suites !== undefined) {
    checkList(a, 'meta.suites', m.suites, 64).forEach((d, i) => {
      const r = checkRecord(a, `meta.suites[${i}]`, d);
      checkRelativePath(a, `meta.suites[${i}].suite`, r.suite, { max: 128, pattern: DEB_SEGMENT, expected: 'a Debian suite name' });
      checkList(a, `meta.suites[${i}].components`, r.components, 64).forEach((c, j) =>
        checkRelativePath(a, `meta.suites[${i}].components[${j}]`, c, { max: 128, pattern: DEB_SEGMENT, expected: 'a Debian component name' }),
      );
      checkList(a, `meta.suites[${i}].architectures`, r.architectures, 64).forEach((x, j) =>
        checkText(a, `meta.suites[${i}].architectures[${j}]`, x, { max: 64, pattern: DEB_ARCH, expected: 'a Debian architecture name' }),
      );
    });
  }
  if (m.filename !== undefined) checkRelativePath(a, 'meta.filename', m.filename, { max: 1024 });
  const control = checkRecord(a, 'meta.control', m.control);
  const keys = Object.keys(control);
  if (keys.length > 256) throw fieldError(a, 'meta.control', `has ${keys.length} fields, more than the 256 allowed`);
  for (const k of keys) {
    if (!FIELD_NAME.test(k) || k.length > 128) throw fieldError(a, 'meta.control', `field name ${shown(k)} is not a control field name`);
    checkControlValue(a, `meta.control.${k}`, control[k]);
  }
  const source = control.Source;
  if (source !== undefined) {
    const name = String(source).split(/\s/)[0];
    checkText(a, 'meta.control.Source', name, { max: 128, pattern: DEB_PACKAGE, expected: 'a Debian source package name' });
  }
}

/** A deb822 value: no control characters but LF and TAB; every line after the first starts with a space or TAB and is not blank. */
export function checkControlValue(a: Partial<Artifact>, field: string, v: unknown): string {
  const s = checkText(a, field, v, { max: 1 << 20, empty: true, multiline: true });
  const lines = s.split('\n');
  lines.slice(1).forEach((l) => {
    if (!/^[ \t]/.test(l) || l.trim() === '') throw fieldError(a, field, 'has a line break that is not a deb822 continuation line');
  });
  return s;
}
