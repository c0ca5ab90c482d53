import { dirPublisher } from '@airgap/core';
import { checkRelativePath } from './target-path.js';

/** `files/<path>` in a directory mirror (docs/design.md); presence, writes and never-overwrite are the core's. */
export const fileDirPublisher = dirPublisher({
  folder: 'files',
  // The path comes from the signed index, validated at verify; it is still checked so nothing lands outside the mirror.
  files: (a) => [{ rel: checkRelativePath(String(a.meta?.path ?? a.name)), blob: a.blobs[0] }],
  label: (a) => a.name,
});
