/** One entry of the manifest's `apt:` section (docs/manifest.md). */
export interface AptSpec {
  /** `system` (the host's apt sources) or an archive base URL (the folder holding `dists/`). */
  url: string;
  /** Required with a URL; with `system` it limits the host's sources to this suite. */
  suite?: string;
  /** Default `[main]` with a URL; with `system` it limits the host's components. */
  components?: string[];
  /** Default: the source's `Architectures`, else the host's native architecture. */
  architectures?: string[];
  /** Keyring(s) the Release signature must verify against. Required with a URL; with `system` the source's Signed-By wins. */
  keyring?: string | string[];
  /** Relations: `nginx`, `curl (>= 7.88)`, `nginx=1.22.1-9`, `libc6:arm64`. */
  packages: string[];
  /** Default true: the Depends + Pre-Depends closure. */
  dependencies?: boolean;
  /** `first` (default): the first alternative that can be satisfied; `all`: every satisfiable alternative. */
  alternatives?: 'first' | 'all';
  /** Package names left out, together with what only they needed. */
  exclude?: string[];
}

const nameList = { type: 'array', items: { type: 'string', minLength: 1 } } as const;

export const aptSpecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'packages'],
  properties: {
    url: { type: 'string', minLength: 1, description: '`system` (the host apt sources) or an archive base URL (the folder holding dists/)' },
    suite: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9+_.~-]*(/[A-Za-z0-9][A-Za-z0-9+_.~-]*)*$', 'x-expected': 'a suite name (segments of letters, digits and + _ . ~ -, never ..)', description: 'suite or codename (bookworm, stable, bookworm-security)' },
    components: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9+_.~-]*(/[A-Za-z0-9][A-Za-z0-9+_.~-]*)*$', 'x-expected': 'a component name (main, contrib, non-free-firmware)' }, minItems: 1, description: 'default [main]' },
    architectures: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$', 'x-expected': 'a Debian architecture name (amd64, arm64, all)' }, minItems: 1, description: 'default: the source Architectures, else the host architecture' },
    keyring: {
      oneOf: [{ type: 'string', minLength: 1 }, { ...nameList, minItems: 1 }],
      description: 'OpenPGP keyring file(s) (binary or ASCII-armored) the Release signature must verify against',
    },
    packages: { ...nameList, minItems: 1, description: 'package relations: nginx, "curl (>= 7.88)", nginx=1.22.1-9' },
    dependencies: { type: 'boolean', default: true, description: 'Depends + Pre-Depends closure' },
    alternatives: { enum: ['first', 'all'], default: 'first', description: 'a | b: the first satisfiable alternative, or all of them' },
    exclude: { ...nameList, description: 'package names left out, with the dependencies only they needed' },
  },
} as const;

/** `targets.<t>.apt` (docs/config.md, §7): how a `dir:` mirror signs its Release. */
export interface AptTargetSettings {
  /** ASCII-armored or binary OpenPGP secret key file; relative to the config file. */
  gpgKey?: string;
  /** Environment variable holding the key's passphrase, when it has one. */
  passphraseEnv?: string;
}

export const aptTargetSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    gpgKey: { type: 'string', minLength: 1, description: 'OpenPGP secret key file that signs the dir mirror Release (InRelease, Release.gpg)' },
    passphraseEnv: { type: 'string', minLength: 1, description: 'environment variable with the passphrase of gpgKey' },
  },
} as const;
