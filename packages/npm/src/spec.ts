import { closedObject, envKey } from '@airgap/core';

/** One entry of the manifest's `npm:` section (docs/manifest.md). */
export interface NpmSpec {
  /** `default` (the registry the machine's npm is configured with, read at run time) or a URL. */
  registry?: string;
  /** Package specs as `npm install` takes them: `express@^4.21`, `@types/node@22`, `lodash`, `pkg@next`. */
  packages: string[];
  /** The dependency closure as npm would install it (default true); false carries only the named packages. */
  dependencies?: boolean;
  /** Name of the environment variable holding the registry's auth token (sent as Bearer). */
  tokenEnv?: string;
  /** Keep only optional dependencies for these operating systems (npm `os` values); default: every platform's. */
  os?: string[];
  /** Keep only optional dependencies for these CPUs (npm `cpu` values); default: every platform's. */
  cpu?: string[];
}

export const npmSpecSchema = closedObject(
  {
    registry: { type: 'string', minLength: 1, description: 'default (the registry npm is configured with) or a registry URL' },
    packages: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      description: 'package specs as npm install takes them: name, name@range, name@version, name@tag, @scope/name@range',
    },
    dependencies: { type: 'boolean', default: true, description: 'carry the dependency closure as npm would install it' },
    tokenEnv: envKey('the registry auth token'),
    os: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'keep optional dependencies only for these os values' },
    cpu: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'keep optional dependencies only for these cpu values' },
  },
  ['packages'],
);

/** `targets.<t>.npm` (dir targets): where the mirror's `npm/` folder is served, for tarball URLs in packuments. */
export const npmTargetSettingsSchema = {
  npm: {
    type: 'object',
    additionalProperties: false,
    properties: {
      baseUrl: { type: 'string', pattern: '^https?://', description: 'URL at which a static web server serves the mirror folder npm/, e.g. https://mirror.corp.internal/npm/ (airgap serve needs none: it writes its own address)' },
    },
  },
} as const;
