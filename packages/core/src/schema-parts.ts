import { EXPECTED_KEYWORD } from './document.js';

/**
 * JSON Schema parts that the config schema (config.ts) and the ecosystems' manifest entry schemas
 * (each ecosystem's spec.ts) share, so that one rule — an object names all its keys, how an environment
 * variable is named, Basic auth from the environment — is written once and reads the same in every
 * problem line (docs/manifest.md, docs/config.md).
 */

/** An object whose keys are all named: any other key is a problem that lists the allowed ones. */
export function closedObject<P extends Record<string, unknown>>(properties: P, required?: readonly string[]) {
  return { type: 'object', additionalProperties: false, ...(required ? { required } : {}), properties } as const;
}

/** A string that must match `pattern`; a value that does not is told `must be <expected>`. */
export function patterned(pattern: string, expected: string, description?: string) {
  return { type: 'string', pattern, [EXPECTED_KEYWORD]: expected, ...(description === undefined ? {} : { description }) } as const;
}

export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

/** Secrets are named by environment variable, never written in a file (docs/security.md). */
export const envNameSchema = patterned(ENV_NAME_PATTERN, 'the name of an environment variable (e.g. NEXUS_PASSWORD), never the secret itself');

/** An `…Env` key with what its variable holds. */
export function envKey(holding: string) {
  return { ...envNameSchema, description: `environment variable holding ${holding}` } as const;
}

/** `usernameEnv` + `passwordEnv` of an upstream that may ask for Basic auth (read by basicAuthFromEnv, credentials.ts). */
export function basicAuthEnvKeys(of: string) {
  return { usernameEnv: envKey(`${of} user name (Basic auth)`), passwordEnv: envKey(`${of} password (Basic auth)`) } as const;
}

export const S3_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]*$';

/** The name of a connection under `s3:` in the config (docs/backups.md). */
export const s3ConnectionName = patterned(S3_NAME_PATTERN, 'the name of a connection under s3: in the config');
