import type { Ecosystem } from '@airgap/core';
import { npmSource } from './source.js';
import { npmDirPublisher } from './dir-publish.js';
import { npmEndpointPublisher } from './endpoint-publish.js';
import { type NpmSpec, npmSpecSchema, npmTargetSettingsSchema } from './spec.js';
import { validateNpm } from './validate.js';
import { npmBom } from './bom.js';

export type { NpmSpec } from './spec.js';
export type { NpmArtifactMeta } from './source.js';
export { npmSource, carriedLatest, NPM_TARBALL_MEDIA_TYPE } from './source.js';
export { npmDirPublisher, PLACEHOLDER_BASE } from './dir-publish.js';
export { npmEndpointPublisher, tagsToSend } from './endpoint-publish.js';
export { resolveClosure } from './ideal-tree.js';
export { pickManifest } from './pick-manifest.js';
export { parseSpec, splitPackageArg, isValidName } from './package-spec.js';
export { escapeName, tarballFileName, type Packument } from './packument.js';
export { npmConfiguredRegistry, Registry } from './registry.js';
export { publishDocument } from './publish-document.js';

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
export { validateNpm } from './validate.js';
