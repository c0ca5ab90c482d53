import path from 'node:path';
import { UsageError } from './errors.js';
import { MAX_DOCUMENT_BYTES, readRegularFile } from './regular-file.js';
import type { EcosystemRegistry } from './ecosystem.js';
import { type ManifestPolicy, policySchema } from './policy.js';
import { SCHEMA_DRAFT, displayPath, keyPath, parseYaml, refuseProblems, substituteAndValidate, type Problem } from './document.js';

/** The bundle manifest of docs/manifest.md, after `${VAR}` substitution and validation. */
export interface Manifest {
  apiVersion: 'airgap/v1';
  kind: 'Bundle';
  name: string;
  /** `tool: true`: carry airgap's own release beside the parts (docs/release.md), like `pack --include-tool`. */
  tool?: boolean;
  /** Entries per manifest section (`images`, `files`, …), as written; only sections present in the file. */
  sections: Record<string, unknown[]>;
  /** `policy:` as written (docs/manifest.md "policy"); absent when the manifest has none. */
  policy?: ManifestPolicy;
  /** Absolute path of the manifest file. */
  file: string;
  /** Its folder: relative paths in entries are resolved against it. */
  dir: string;
}

/** Every section docs/manifest.md defines, so a section this build lacks is named as such rather than as a typo. */
export const MANIFEST_SECTIONS = ['images', 'charts', 'apt', 'yum', 'pypi', 'npm', 'files'] as const;

export const MANIFEST_SCHEMA_ID = 'urn:airgap:schema:manifest:v1';

export const BUNDLE_NAME_PATTERN = '^[a-z0-9][a-z0-9-]*$';

/**
 * The manifest schema: the base of docs/manifest.md plus one list per loaded ecosystem, its items that
 * ecosystem's specSchema. loadManifest loads the sections a manifest has; the published schema loads all.
 */
export function manifestSchema(registry: EcosystemRegistry): object {
  const ecosystems = [...registry.loaded()].sort((a, b) => sectionOrder(a.manifestKey) - sectionOrder(b.manifestKey));
  const sections: Record<string, object> = {};
  const defs: Record<string, object> = {};
  for (const eco of ecosystems) {
    defs[eco.manifestKey] = eco.specSchema;
    sections[eco.manifestKey] = {
      type: 'array',
      description: `${eco.kind} entries`,
      items: { $ref: `#/$defs/${eco.manifestKey}` },
    };
  }
  return {
    $schema: SCHEMA_DRAFT,
    $id: MANIFEST_SCHEMA_ID,
    title: 'airgap bundle manifest',
    description: 'What `airgap pack` mirrors. See docs/manifest.md.',
    type: 'object',
    required: ['apiVersion', 'kind', 'name'],
    additionalProperties: false,
    properties: {
      $schema: { type: 'string', description: 'Optional: where editors find this schema.' },
      apiVersion: { const: 'airgap/v1' },
      kind: { const: 'Bundle' },
      name: {
        type: 'string',
        pattern: BUNDLE_NAME_PATTERN,
        maxLength: 100,
        description: 'Bundle name; the bundle directory is <name>-<UTC timestamp>.',
      },
      tool: {
        type: 'boolean',
        description: "Carry airgap's own single-executable release beside the parts, as pack --include-tool does (docs/release.md).",
      },
      ...sections,
      policy: policySchema,
    },
    $defs: defs,
  };
}

function sectionOrder(key: string): number {
  const i = (MANIFEST_SECTIONS as readonly string[]).indexOf(key);
  return i < 0 ? MANIFEST_SECTIONS.length : i;
}

/** `scheme://user[:password]@host…`: user info in a URL's authority. */
const URL_WITH_USERINFO = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#\s]*@/;

/**
 * Credentials written into a source URL (`http://user:pw@host/x`) would be dropped silently by the HTTP
 * client and surface as a bare 401: every such value is a problem naming its key path (never the URL,
 * which holds the secret), pointing to usernameEnv/passwordEnv (docs/security.md).
 */
function credentialUrls(v: unknown, at: string, problems: Problem[]): void {
  if (typeof v === 'string') {
    if (URL_WITH_USERINFO.test(v)) {
      problems.push({ path: at, message: 'the URL holds credentials (user:password@): they are never sent from a URL; name environment variables with usernameEnv/passwordEnv (or tokenEnv) instead' });
    }
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => credentialUrls(x, keyPath(at, i), problems));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) credentialUrls(x, keyPath(at, k), problems);
  }
}

/** Default most entries (summed over all sections) of a manifest; `--max-manifest-entries` changes it. */
export const MAX_MANIFEST_ENTRIES = 100_000;

export interface DocumentLimits {
  /** Most bytes of the file (default 16 MiB). */
  maxBytes?: number;
  /** Most entries over all sections (default 100,000). */
  maxEntries?: number;
}

/**
 * Read, substitute and validate a bundle manifest. Every problem (YAML syntax, unset variable, unknown
 * key, wrong type, a section this build has no ecosystem for, no entries at all) is a UsageError (exit 2)
 * with one line per problem, each naming the file and the key path.
 */
export async function loadManifest(file: string, registry: EcosystemRegistry, env: NodeJS.ProcessEnv = process.env, limits: DocumentLimits = {}): Promise<Manifest> {
  const abs = path.resolve(file);
  const label = displayPath(abs);
  const maxBytes = limits.maxBytes ?? MAX_DOCUMENT_BYTES;
  // A regular file of bounded size (never a FIFO that blocks), not binary, before any parsing (docs/security.md).
  const bytes = await readRegularFile(abs, { max: maxBytes, what: 'the manifest', label, hint: `pass the path of a bundle manifest (YAML or JSON) of at most ${maxBytes} bytes (--max-manifest-size)` });
  const parsed = parseYaml(bytes, label);
  const maxEntries = limits.maxEntries ?? MAX_MANIFEST_ENTRIES;
  if (parsed && typeof parsed === 'object') {
    const entries = Object.values(parsed as Record<string, unknown>).reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 0), 0);
    if (entries > maxEntries) {
      throw new UsageError(`${label}: ${entries} entries, more than the ${maxEntries} allowed`, { subject: label, hint: 'split the manifest into several bundles, or raise the limit with --max-manifest-entries' });
    }
  }
  if (parsed === null || parsed === undefined) {
    throw new UsageError(`${label}: the manifest is empty`, { subject: label, hint: 'write apiVersion: airgap/v1, kind: Bundle, a name and at least one entry (docs/manifest.md)' });
  }

  const unknownTopLevelKey = (key: string): string | undefined =>
    (MANIFEST_SECTIONS as readonly string[]).includes(key) && !registry.manifestKeys().includes(key)
      ? `this airgap build has no ${key} support yet`
      : undefined;
  const { data, problems } = await substituteAndValidate(parsed, env, {
    what: 'manifest',
    schemaFor: async (d) => {
      await registry.load({ manifestKeys: d !== null && typeof d === 'object' ? Object.keys(d) : [] });
      return manifestSchema(registry);
    },
    wording: { unknownTopLevelKey },
  });

  credentialUrls(data, '', problems);
  if (!problems.length) {
    const doc = data as Record<string, unknown>;
    const total = registry.loaded().reduce((n, eco) => n + ((doc[eco.manifestKey] as unknown[] | undefined)?.length ?? 0), 0);
    if (total === 0) {
      const keys = registry.manifestKeys();
      problems.push({ path: '', message: `no entries: list what to mirror under ${keys.length ? keys.join(', ') : 'a section'}` });
    }
  }
  refuseProblems(label, problems, 'fix the manifest; every key is described in docs/manifest.md');

  const doc = data as Record<string, unknown>;
  const sections: Record<string, unknown[]> = {};
  for (const eco of registry.loaded()) {
    const entries = doc[eco.manifestKey];
    if (Array.isArray(entries)) sections[eco.manifestKey] = entries;
  }
  return {
    apiVersion: 'airgap/v1', kind: 'Bundle', name: doc.name as string, ...(doc.tool === true ? { tool: true } : {}),
    sections,
    ...(doc.policy ? { policy: doc.policy as ManifestPolicy } : {}),
    file: abs, dir: path.dirname(abs),
  };
}
