import type { Ecosystem } from '@airgap/core';
import { fileSource } from './source.js';
import { fileDirPublisher } from './dir-publish.js';
import { fileNexusRawPublisher } from './nexus-raw.js';
import { type FileSpec, fileSpecSchema } from './spec.js';
import { fileBom } from './bom.js';

export type { FileSpec } from './spec.js';
export { targetPath, checkRelativePath } from './target-path.js';
export { fileSource } from './source.js';
export { fileDirPublisher } from './dir-publish.js';
export { fileNexusRawPublisher } from './nexus-raw.js';

/** Plain files (SPEC §3 `files`): any URL or local path, published to `files/<path>` or a raw repository. */
export const files: Ecosystem<FileSpec> = {
  kind: 'file',
  manifestKey: 'files',
  specSchema: fileSpecSchema,
  source: fileSource,
  bom: fileBom,
  publish: { dir: fileDirPublisher, endpoint: fileNexusRawPublisher },
};
