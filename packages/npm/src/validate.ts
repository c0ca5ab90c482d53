import semver from 'semver';
import { type Artifact, checkArtifactBasics, checkList, checkOptionalText, checkRecord, checkText, fieldError } from '@airgap/core';
import { isValidName } from './package-spec.js';

/** A dist-tag: what `npm dist-tag add` accepts and what is safe in a packument and a URL. */
const DIST_TAG = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * An npm artifact of the signed index (docs/security.md): the package name (npm's rules: lowercase,
 * URL-safe, ≤ 214 characters, `@scope/name`) and version become `npm/-/<name>/` paths and packument
 * URLs; the carried manifest must describe that same name and version; dist-tags are single names.
 */
export function validateNpm(a: Artifact): void {
  checkArtifactBasics(a);
  checkText(a, 'name', a.name, { max: 214 });
  if (!isValidName(a.name) || a.name.split('/').some((s) => s === '..' || s === '.')) throw fieldError(a, 'name', 'is not a valid npm package name');
  checkText(a, 'version', a.version, { max: 256 });
  if (!semver.valid(a.version, true) || a.version.includes('/')) throw fieldError(a, 'version', 'is not a semver version');
  const m = checkRecord(a, 'meta', a.meta);
  const manifest = checkRecord(a, 'meta.manifest', m.manifest);
  if (manifest.name !== a.name) throw fieldError(a, 'meta.manifest.name', 'differs from the artifact name');
  if (manifest.version !== a.version) throw fieldError(a, 'meta.manifest.version', 'differs from the artifact version');
  checkList(a, 'meta.tags', m.tags, 256).forEach((t, i) => checkText(a, `meta.tags[${i}]`, t, { max: 128, pattern: DIST_TAG, expected: 'a dist-tag name' }));
  checkText(a, 'meta.carriedLatest', m.carriedLatest, { max: 256 });
  if (!semver.valid(m.carriedLatest as string, true)) throw fieldError(a, 'meta.carriedLatest', 'is not a semver version');
  if (checkOptionalText(a, 'meta.upstreamLatest', m.upstreamLatest, { max: 256 }) !== undefined && !semver.valid(m.upstreamLatest as string, true)) {
    throw fieldError(a, 'meta.upstreamLatest', 'is not a semver version');
  }
  // The upstream's deprecation message is free text, written only into JSON (packuments).
  checkOptionalText(a, 'meta.deprecated', m.deprecated, { max: 4096, empty: true, multiline: true });
}
