import type { Ecosystem } from '@airgap/core';
import { yumDirPublisher } from './dir-publish.js';
import { yumEndpointPublisher } from './endpoint-publish.js';
import { yumSource } from './source.js';
import { type YumSpec, yumSpecSchema, yumTargetSettingsSchema } from './spec.js';
import { validateYum } from './validate.js';
import { yumBom } from './bom.js';

// What test/ uses besides the ecosystem itself (the rest stays package-internal).
export type { YumSpec } from './spec.js';
export { yumSource, resolveYum, repoName } from './source.js';

/** YUM/DNF repositories (docs/manifest.md `yum`): RPMs with their dependency closure, published to yum/<name>/ or a yum-hosted repository. */
export const yum: Ecosystem<YumSpec> = {
  kind: 'yum',
  manifestKey: 'yum',
  specSchema: yumSpecSchema,
  targetSettingsSchema: { yum: yumTargetSettingsSchema },
  source: yumSource,
  validate: validateYum,
  bom: yumBom,
  publish: { dir: yumDirPublisher, endpoint: yumEndpointPublisher },
};
