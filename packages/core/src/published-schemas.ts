import { configSchema } from './config.js';
import type { EcosystemRegistry } from './ecosystem.js';
import { manifestSchema } from './manifest.js';

/**
 * The JSON Schema files the project publishes in `manifests/` (docs/manifest.md), as their exact text. Written by
 * `node scripts/gen-schema.mjs`; a test compares the committed files with this so they cannot go stale.
 */
export function publishedSchemas(registry: EcosystemRegistry): Record<string, string> {
  registry.all(); // every ecosystem must be loaded (`await registry.load('all')`): throws otherwise
  const text = (schema: object): string => JSON.stringify(schema, null, 2) + '\n';
  return {
    'airgap-manifest.schema.json': text(manifestSchema(registry)),
    'airgap-config.schema.json': text(configSchema(registry)),
  };
}
