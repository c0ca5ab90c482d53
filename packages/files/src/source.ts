import type { SourceHalf } from '@airgap/core';
import { fileSource } from './single-file.js';
import { type FileSpec, isTree } from './spec.js';
import { resolveTree } from './tree.js';
import { folderOrigin } from './tree-folder.js';
import { fetchS3Object, s3Origin } from './tree-s3.js';

/**
 * The files source half: a single file (single-file.ts), or a tree — an S3 prefix or a folder — that resolves
 * to one file artifact per object (docs/manifest.md). A folder file is fetched again like a single local
 * file (its upstream URL is a file:// URL); an S3 object through its connection.
 */
export const filesSource: SourceHalf<FileSpec> = {
  resolve(spec, ctx) {
    if (!isTree(spec)) return fileSource.resolve(spec, ctx);
    const origin = spec.url.startsWith('s3://') ? s3Origin(spec, ctx) : folderOrigin(spec, ctx.manifestDir);
    return resolveTree(origin, spec, ctx);
  },
  fetch(artifact, ctx) {
    return typeof artifact.meta?.s3 === 'string' ? fetchS3Object(artifact, ctx) : fileSource.fetch(artifact, ctx);
  },
  // An S3 object's digest and size are listed at resolve and fetch leaves the artifact as it is.
  pending: (artifact) => typeof artifact.meta?.s3 !== 'string' && Boolean(fileSource.pending?.(artifact)),
};
