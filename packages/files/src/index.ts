import type { Ecosystem } from '@airgap/core';
import { filesSource } from './source.js';
import { fileDirPublisher } from './dir-publish.js';
import { fileEndpointPublisher } from './endpoint-publish.js';
import { fileS3Publisher } from './s3-publish.js';
import { type FileSpec, fileSpecSchema } from './spec.js';
import { validateFile } from './validate.js';
import { fileBom } from './bom.js';

// What test/ uses besides the ecosystem itself (the rest stays package-internal).
export { fileEndpointPublisher } from './endpoint-publish.js';

/**
 * Plain files (docs/manifest.md `files`): any URL or local path, or a tree (an S3 prefix, a folder), published to
 * `files/<path>`, a raw repository, or an S3 bucket.
 */
export const files: Ecosystem<FileSpec> = {
  kind: 'file',
  manifestKey: 'files',
  specSchema: fileSpecSchema,
  source: filesSource,
  validate: validateFile,
  bom: fileBom,
  publish: { dir: fileDirPublisher, endpoint: fileEndpointPublisher, s3: fileS3Publisher },
};
