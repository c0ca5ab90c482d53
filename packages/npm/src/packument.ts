/** The registry documents of docs/reference/repo-formats.md §6 (npm/registry docs/responses/package-metadata.md). */
export interface VersionManifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  bundleDependencies?: string[] | boolean;
  bundledDependencies?: string[] | boolean;
  deprecated?: string | boolean;
  engines?: unknown;
  os?: string[];
  cpu?: string[];
  dist: { tarball: string; integrity?: string; shasum?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface Packument {
  name: string;
  'dist-tags'?: Record<string, string>;
  versions?: Record<string, VersionManifest>;
  [k: string]: unknown;
}

/** `@scope/name` → `@scope%2fname` as npm requests it (npm-package-arg `escapedName`). */
export function escapeName(name: string): string {
  return name.startsWith('@') ? '@' + encodeURIComponent(name.slice(1)).replace('%2F', '%2f') : encodeURIComponent(name);
}

/** The tarball file name npm gives a version: `name-1.0.0.tgz`, `@s/name` → `name-1.0.0.tgz`. */
export function tarballFileName(name: string, version: string): string {
  return `${name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name}-${version}.tgz`;
}
