import semver from 'semver';

/**
 * The registry subset of npm-package-arg (npm/npm-package-arg lib/npa.js): a dependency spec is a
 * version, a range, a dist-tag, or an `npm:` alias of one of those. Git, URL and file specs cannot be
 * resolved from a registry and are reported as unsupported.
 */
export type RegistrySpec =
  | { type: 'version' | 'range' | 'tag'; name: string; fetchSpec: string; raw: string }
  | { type: 'alias'; name: string; sub: RegistrySpec & { type: 'version' | 'range' | 'tag' }; raw: string };

export type UnsupportedSpec = { type: 'unsupported'; name: string; raw: string; why: string };

const NAME_RE = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9._~-][a-z0-9._~-]*$/i;

export function isValidName(name: string): boolean {
  return NAME_RE.test(name) && name.length <= 214 && !name.startsWith('.') && !name.startsWith('_');
}

/** `express@^4`, `@types/node@22`, `lodash` → name and raw spec (npm's own split at the last `@`). */
export function splitPackageArg(arg: string): { name: string; spec: string } {
  const at = arg.indexOf('@', arg.startsWith('@') ? 1 : 0);
  return at < 0 ? { name: arg, spec: '' } : { name: arg.slice(0, at), spec: arg.slice(at + 1) };
}

export function parseSpec(name: string, rawSpec: string): RegistrySpec | UnsupportedSpec {
  const spec = (rawSpec ?? '').trim();
  const raw = `${name}@${spec}`;
  if (spec.startsWith('npm:')) {
    const { name: real, spec: sub } = splitPackageArg(spec.slice(4));
    if (!isValidName(real)) return { type: 'unsupported', name, raw, why: `alias to an invalid package name ${JSON.stringify(real)}` };
    const inner = parseSpec(real, sub);
    if (inner.type === 'unsupported' || inner.type === 'alias') return { type: 'unsupported', name, raw, why: 'nested or non-registry alias' };
    return { type: 'alias', name, sub: inner, raw };
  }
  if (/^(?:file:|link:|git\+|git:|github:|gitlab:|bitbucket:|gist:|https?:|workspace:)/i.test(spec) || /^(?:\.\.?(?:\/|$)|~\/|\/)/.test(spec) || /^[^@\s]+\/[^@\s]+$/.test(spec) || /\.t(?:ar\.)?gz$/i.test(spec)) {
    return { type: 'unsupported', name, raw, why: 'not a registry spec (git, URL, file or directory)' };
  }
  if (semver.valid(spec, true)) return { type: 'version', name, fetchSpec: spec, raw };
  if (semver.validRange(spec, true) !== null) return { type: 'range', name, fetchSpec: spec === '' ? '*' : spec, raw };
  if (encodeURIComponent(spec) !== spec) return { type: 'unsupported', name, raw, why: `invalid tag name ${JSON.stringify(spec)}` };
  return { type: 'tag', name, fetchSpec: spec, raw };
}

/** The package actually fetched for a spec (an alias fetches its target). */
export function fetchTarget(spec: RegistrySpec): { name: string; spec: RegistrySpec & { type: 'version' | 'range' | 'tag' } } {
  return spec.type === 'alias' ? { name: spec.sub.name, spec: spec.sub } : { name: spec.name, spec };
}

/**
 * Whether a package at `version` satisfies a dependency spec (arborist lib/dep-valid.js): ranges and
 * versions by semver (loose); a tag is satisfied by any registry resolution.
 */
export function specSatisfied(spec: RegistrySpec, pkgName: string, version: string): boolean {
  const { name, spec: s } = fetchTarget(spec);
  if (name !== pkgName) return false;
  if (s.type === 'tag') return true;
  if (s.type === 'range' && s.fetchSpec === '*') return true;
  return semver.satisfies(version, s.fetchSpec, true);
}
