import type { Ecosystem } from '@airgap/core';
import { aptDirPublisher } from './dir-publish.js';
import { aptEndpointPublisher } from './endpoint-publish.js';
import { aptSource } from './source.js';
import { type AptSpec, aptSpecSchema, aptTargetSettingsSchema } from './spec.js';
import { validateApt } from './validate.js';
import { aptBom } from './bom.js';
import { mergeDeclaredSuites } from './suites.js';

// What other packages and test/ use besides the ecosystem itself (the rest stays package-internal).
export type { AptSpec } from './spec.js';
export { readHostSources } from './sources-list.js';
export { aptSource } from './source.js';
export { aptDirPublisher } from './dir-publish.js';
export { nexusAssetPath } from './pool.js';

/** Debian/Ubuntu packages (docs/manifest.md `apt`): signed-archive closure outside, Nexus apt-hosted or a dir mirror inside. */
export const apt: Ecosystem<AptSpec> = {
  kind: 'apt',
  manifestKey: 'apt',
  specSchema: aptSpecSchema,
  targetSettingsSchema: { apt: aptTargetSettingsSchema },
  source: aptSource(),
  validate: validateApt,
  bom: aptBom,
  mergeDuplicate: mergeDeclaredSuites,
  publish: { dir: aptDirPublisher, endpoint: aptEndpointPublisher },
};
