import type { Ecosystem } from '@airgap/core';
import { npmSource } from './source.js';
import { npmDirPublisher } from './dir-publish.js';
import { npmEndpointPublisher } from './endpoint-publish.js';
import { type NpmSpec, npmSpecSchema, npmTargetSettingsSchema } from './spec.js';
import { validateNpm } from './validate.js';
import { npmBom } from './bom.js';

// What @airgap/serve and test/ use besides the ecosystem itself (the rest stays package-internal).
export type { NpmSpec } from './spec.js';
export { npmDirPublisher, PLACEHOLDER_BASE } from './dir-publish.js';
export { isValidName } from './package-spec.js';
export { tarballFileName, type Packument } from './packument.js';

/** npm packages (docs/manifest.md `npm`): the closure as npm would install it, published as npm publish documents or a static `npm/` mirror. */
export const npm: Ecosystem<NpmSpec> = {
  kind: 'npm',
  manifestKey: 'npm',
  specSchema: npmSpecSchema,
  targetSettingsSchema: npmTargetSettingsSchema,
  source: npmSource,
  validate: validateNpm,
  bom: npmBom,
  publish: { dir: npmDirPublisher, endpoint: npmEndpointPublisher },
};
