import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishedSchemas } from '@airgap/core';
import { describe, expect, it } from 'vitest';
import { ecosystems } from '../../src/ecosystems.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

await ecosystems.load('all');

describe('published JSON Schemas (manifests/)', () => {
  const expected = publishedSchemas(ecosystems);

  it.each(Object.keys(expected))('%s is what this build composes', async (name) => {
    const committed = await readFile(path.join(root, 'manifests', name), 'utf8').catch(() => '(missing)');
    expect(committed, `manifests/${name} is stale: run \`node scripts/gen-schema.mjs\` after \`npm run build\``).toBe(expected[name]);
  });

  it('covers every section and target settings block the registered ecosystems declare', () => {
    const manifest = JSON.parse(expected['airgap-manifest.schema.json']);
    const config = JSON.parse(expected['airgap-config.schema.json']);
    // A route only names other targets: the settings blocks live on those.
    const targetBranches = config.properties.targets.additionalProperties.allOf
      .map((b: { then: { properties: { type: { const: string } } } }) => b.then.properties)
      .filter((p: { type: { const: string } }) => p.type.const !== 'route');
    for (const eco of ecosystems.all()) {
      expect(manifest.$defs[eco.manifestKey]).toEqual(eco.specSchema);
      for (const block of Object.keys(eco.targetSettingsSchema ?? {})) for (const props of targetBranches) expect(props).toHaveProperty(block);
    }
  });
});
