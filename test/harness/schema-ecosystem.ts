import type { Ecosystem } from '@airgap/core';

/**
 * An ecosystem of which only the schemas matter, for unit tests of schema composition (config and manifest
 * loading): its source and publish halves throw if anything calls them.
 */
export function schemaOnlyEcosystem(
  kind: Ecosystem['kind'],
  manifestKey: string,
  schemas: Pick<Ecosystem, 'specSchema'> & Partial<Pick<Ecosystem, 'targetSettingsSchema'>>,
): Ecosystem {
  const unused = () => {
    throw new Error(`${kind}: only its schemas are used here`);
  };
  return { kind, manifestKey, ...schemas, source: { resolve: unused, fetch: unused }, publish: { dir: { exists: unused, publish: unused } } };
}
