/**
 * Every schema the CLI compiles is valid JSON Schema 2020-12. The CLI compiles its schemas without checking
 * them against the meta-schema at each run (packages/core/src/document.ts, compileSchema: they are this
 * build's own), so the check is made here, once, for the manifest and config schemas composed from every
 * registered ecosystem and for each ecosystem's own pieces (pack compiles a section's schema alone for the
 * entries another ecosystem implies). Each is also compiled the way the CLI compiles it.
 */
import { createRequire } from 'node:module';
import { compileSchema, configSchema, manifestSchema } from '@airgap/core';
import { describe, expect, it } from 'vitest';
import { ecosystems } from '../../src/ecosystems.js';

const require = createRequire(import.meta.url);
const { Ajv2020 } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');

await ecosystems.load('all');

/** The meta-schema's complaints about `schema` (none when it is valid JSON Schema 2020-12). */
function metaProblems(schema: object): string[] {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  if (ajv.validateSchema(schema)) return [];
  return (ajv.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
}

const pieces: [string, object][] = [
  ['manifest (every ecosystem)', manifestSchema(ecosystems)],
  ['config (every ecosystem)', configSchema(ecosystems)],
  ...ecosystems.all().flatMap((eco): [string, object][] => [
    [`${eco.manifestKey} entry`, eco.specSchema],
    ...Object.entries(eco.targetSettingsSchema ?? {}).map(([block, s]): [string, object] => [`${eco.manifestKey} target settings ${block}`, s as object]),
  ]),
];

describe('the schemas this build compiles', () => {
  it('include one of each registered ecosystem', () => {
    expect(ecosystems.all().length).toBeGreaterThanOrEqual(7);
    expect(pieces.length).toBeGreaterThanOrEqual(2 + ecosystems.all().length);
  });

  it.each(pieces)('%s is valid JSON Schema 2020-12 and compiles as the CLI compiles it', (what, schema) => {
    expect(metaProblems(schema)).toEqual([]);
    expect(typeof compileSchema(schema, what)).toBe('function');
  });

  it('the meta-schema check finds a broken schema (so the cases above can fail)', () => {
    expect(metaProblems({ type: 'object', properties: { a: { type: 'strnig' } } })).not.toEqual([]);
    expect(metaProblems({ type: 'object', required: 'a' })).not.toEqual([]);
  });
});
