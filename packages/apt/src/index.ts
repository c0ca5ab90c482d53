import type { Ecosystem } from '@airgap/core';
import { aptDirPublisher } from './dir-publish.js';
import { aptEndpointPublisher } from './endpoint-publish.js';
import { aptSource } from './source.js';
import { type AptSpec, aptSpecSchema, aptTargetSettingsSchema } from './spec.js';
import { validateApt } from './validate.js';
import { aptBom } from './bom.js';
import { mergeDeclaredSuites } from './suites.js';

export type { AptSpec, AptTargetSettings } from './spec.js';
export { aptSpecSchema, aptTargetSettingsSchema } from './spec.js';
export { compareVersions, parseVersion, satisfies } from './version.js';
export { parseRelations, parseRelation, parsePackageRequest } from './relations.js';
export { parseStanzas, formatStanza, field } from './control.js';
export { readHostSources, parseDeb822Sources, parseOneLineSources, type HostSource } from './sources-list.js';
export { PackageUniverse, resolveClosure, type Candidate } from './closure.js';
export { aptSource, nativeArchitecture, DEB_MEDIA_TYPE } from './source.js';
export { aptDirPublisher } from './dir-publish.js';
export { aptEndpointPublisher } from './endpoint-publish.js';
export { dirPoolPath, nexusAssetPath } from './pool.js';

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
export { validateApt } from './validate.js';
