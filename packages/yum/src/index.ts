import type { Ecosystem } from '@airgap/core';
import { yumDirPublisher } from './dir-publish.js';
import { yumEndpointPublisher } from './endpoint-publish.js';
import { yumSource } from './source.js';
import { type YumSpec, yumSpecSchema, yumTargetSettingsSchema } from './spec.js';
import { validateYum } from './validate.js';
import { yumBom } from './bom.js';

export type { YumSpec, YumTargetSettings } from './spec.js';
export { yumSource, resolveYum, repoName, type YumMeta, type YumResolution } from './source.js';
export { yumDirPublisher } from './dir-publish.js';
export { yumEndpointPublisher, yumFolder } from './endpoint-publish.js';
export { rpmvercmp, compareEvr, parseEvr, rangesOverlap } from './vercmp.js';
export { resolveClosure, parseRich } from './closure.js';

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
export { validateYum } from './validate.js';
