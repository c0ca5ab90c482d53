import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from './errors.js';
import type { EcosystemRegistry } from './ecosystem.js';
import { type ManifestPolicy, policySchema } from './policy.js';
import {
  SCHEMA_DRAFT,
  compileSchema,
  displayPath,
  parseYaml,
  problemLines,
  schemaProblems,
  substituteEnv,
  type Problem,
} from './document.js';

/** The bundle manifest of SPEC §3, after `${VAR}` substitution and validation. */
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

/** Every section SPEC §3 defines, so a section this build lacks is named as such rather than as a typo. */
export const MANIFEST_SECTIONS = ['images', 'charts', 'apt', 'yum', 'pypi', 'npm', 'files'] as const;

export const MANIFEST_SCHEMA_ID = 'urn:airgap:schema:manifest:v1';

export const BUNDLE_NAME_PATTERN = '^[a-z0-9][a-z0-9-]*$';

/**
 * The manifest schema: the base of SPEC §3 plus one list per loaded ecosystem, its items that
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
    description: 'What `airgap pack` mirrors (SPEC §3). See docs/manifest.md.',
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

/**
 * Read, substitute and validate a bundle manifest. Every problem (YAML syntax, unset variable, unknown
 * key, wrong type, a section this build has no ecosystem for, no entries at all) is a UsageError (exit 2)
 * with one line per problem, each naming the file and the key path.
 */
export async function loadManifest(file: string, registry: EcosystemRegistry, env: NodeJS.ProcessEnv = process.env): Promise<Manifest> {
  const abs = path.resolve(file);
  const label = displayPath(abs);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a manifest file' : (e as Error).message;
    throw new UsageError(`${label}: cannot read the manifest: ${why}`, { subject: label, hint: 'pass the path of a bundle manifest (YAML or JSON)', cause: e });
  }
  const parsed = parseYaml(text, label);
  if (parsed === null || parsed === undefined) {
    throw new UsageError(`${label}: the manifest is empty`, { subject: label, hint: 'write apiVersion: airgap/v1, kind: Bundle, a name and at least one entry (docs/manifest.md)' });
  }

  const problems: Problem[] = [];
  const data = substituteEnv(parsed, env, problems);
  const envPaths = new Set(problems.map((p) => p.path));
  await registry.load({ manifestKeys: data !== null && typeof data === 'object' ? Object.keys(data) : [] });
  const validate = compileSchema(manifestSchema(registry), 'manifest');
  const unknownTopLevelKey = (key: string): string | undefined =>
    (MANIFEST_SECTIONS as readonly string[]).includes(key) && !registry.manifestKeys().includes(key)
      ? `this airgap build has no ${key} support yet`
      : undefined;
  for (const p of schemaProblems(validate, data, { unknownTopLevelKey })) {
    // A value still holding an unset ${VAR} would also fail its pattern; the variable is the real problem.
    if (!envPaths.has(p.path)) problems.push(p);
  }

  if (!problems.length) {
    const doc = data as Record<string, unknown>;
    const total = registry.loaded().reduce((n, eco) => n + ((doc[eco.manifestKey] as unknown[] | undefined)?.length ?? 0), 0);
    if (total === 0) {
      const keys = registry.manifestKeys();
      problems.push({ path: '', message: `no entries: list what to mirror under ${keys.length ? keys.join(', ') : 'a section'}` });
    }
  }
  if (problems.length) {
    throw new UsageError(problemLines(label, problems), { subject: label, hint: 'fix the manifest; every key is described in docs/manifest.md' });
  }

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
