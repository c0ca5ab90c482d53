import { basicAuthEnvKeys, closedObject, patterned } from '@airgap/core';

/** One entry of the manifest's `yum:` section (docs/manifest.md). */
export interface YumSpec {
  /** Repository base URL: the folder holding `repodata/`. */
  baseurl: string;
  /** Mirror name: `yum/<name>/` in a dir mirror, `{repo}` in Nexus paths. Default: derived from baseurl. */
  name?: string;
  /** Armored (or binary) OpenPGP public key, file path (relative to the manifest) or http(s) URL: repomd.xml.asc must verify. */
  gpgkey?: string;
  /** Package names, optionally with a relation: `nginx`, `nginx >= 1.20`, `bash = 5.1.8-9.el9`. */
  packages: string[];
  /** Follow `Requires` (default true). */
  dependencies?: boolean;
  /** Architectures to take (default x86_64 and noarch). */
  arch?: string[];
  /** Package names never taken (globs with `*`). */
  exclude?: string[];
  /** Module streams enabled as `dnf module enable` would: `nodejs:18`. */
  modules?: string[];
  /** Environment variables with Basic auth credentials for the repository's host. */
  usernameEnv?: string;
  passwordEnv?: string;
}

export const DEFAULT_ARCH = ['x86_64', 'noarch'];

export const yumSpecSchema = closedObject(
  {
    baseurl: patterned('^https?://', 'an http(s) URL of a repository (the folder holding repodata/)', 'repository base URL (the folder that holds repodata/)'),
    name: patterned('^[A-Za-z0-9][A-Za-z0-9._-]*$', 'a repository name of letters, digits, . _ -', 'mirror name: yum/<name>/ in a dir mirror; default derived from baseurl'),
    gpgkey: { type: 'string', minLength: 1, description: 'OpenPGP public key (file relative to the manifest, or URL) that repodata/repomd.xml.asc must verify with' },
    packages: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^\\s<>=]+(\\s*(=|==|<|<=|>|>=)\\s*\\S+)?$', 'x-expected': 'a package name, optionally with a relation such as "nginx >= 1.20"' }, description: 'package names (optionally with a version relation)' },
    dependencies: { type: 'boolean', default: true, description: 'follow Requires (default true)' },
    arch: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[A-Za-z0-9_]+$' }, default: DEFAULT_ARCH, description: 'architectures to take (default x86_64, noarch)' },
    exclude: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'package names never taken (* globs)' },
    modules: { type: 'array', items: { type: 'string', pattern: '^[^:\\s]+:[^:\\s]+$', 'x-expected': 'a module stream as name:stream' }, description: 'module streams to enable (name:stream), as dnf module enable' },
    ...basicAuthEnvKeys('the repository'),
  },
  ['baseurl', 'packages'],
);

/** `targets.<t>.yum` (docs/config.md, §7). */
export interface YumTargetSettings {
  /** Nexus: the yum-hosted repository's Repodata Depth (0–5). */
  depth?: number;
  /** Nexus: folder the RPMs go under, `depth` segments deep; `{repo}` is the mirror name. */
  path?: string;
  /** dir: OpenPGP secret key file that signs repodata/repomd.xml (repomd.xml.asc). */
  gpgKey?: string;
  /** dir: environment variable holding gpgKey's passphrase. */
  passphraseEnv?: string;
}

export const yumTargetSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    depth: { type: 'integer', minimum: 0, maximum: 5, description: 'Nexus: Repodata Depth of the yum-hosted repository (0-5, default 0)' },
    path: { type: 'string', pattern: '^[A-Za-z0-9{}._/-]*$', description: 'Nexus: folder of the RPMs, exactly depth segments deep; {repo} is the mirror name (default: "" at depth 0, "{repo}" at depth 1)' },
    gpgKey: { type: 'string', minLength: 1, description: 'dir: OpenPGP secret key file that signs repodata/repomd.xml' },
    passphraseEnv: { type: 'string', minLength: 1, description: 'dir: environment variable with the passphrase of gpgKey' },
  },
} as const;
