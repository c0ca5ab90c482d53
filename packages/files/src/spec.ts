import { closedObject, patterned, s3ConnectionName } from '@airgap/core';

/** One entry of the manifest's `files:` section (docs/manifest.md; trees: docs/manifest.md, docs/backups.md). */
export interface FileSpec {
  /**
   * `https://`, `http://`, `file://` URL, or a local path (relative to the manifest). A tree: `s3://BUCKET/PREFIX/`
   * (every object under the prefix) or a folder URL/path ending in `/` (every regular file below it).
   */
  url: string;
  /** Expected sha256 (hex) of a single file. Optional but recommended: a mismatch fails the pack. */
  sha256?: string;
  /**
   * Where it lands under `files/` (raw repository / dir mirror / s3 target key). A single file: ending in `/`
   * keeps the URL's file name. A tree: the folder the tree's files land in (default: the S3 prefix itself, or
   * the folder's name); `./` puts them at the top.
   */
  path?: string;
  /** Trees from S3: the connection under the config's `s3:`. */
  s3?: string;
  /** Trees: only files whose path below the tree matches one of these globs (default: all). */
  include?: string[];
  /** Trees: leave out files whose path below the tree matches one of these globs. */
  exclude?: string[];
  /** Trees: of the files left after include/exclude, only the N most recently modified. */
  newest?: number;
}

const globs = (what: string) => ({
  type: 'array',
  minItems: 1,
  items: { type: 'string', minLength: 1 },
  description: `${what} (globs matched against the path below the tree: *, **, ?, [..], {a,b})`,
});

const treeChoices = {
  include: globs('only the files that match one of these'),
  exclude: globs('leave out the files that match one of these'),
  newest: { type: 'integer', minimum: 1, description: 'only the N most recently modified files (after include/exclude)' },
  path: { type: 'string', minLength: 1, description: 'the folder the tree lands in under files/ (default: the S3 prefix, or the folder name); ./ for the top' },
};

// The S3 form comes first: an entry that fits no form is told about the form it came closest to, and on a
// tie the first (packages/core document.ts), so `url: s3://…/` without `s3:` hears "missing s3".
export const fileSpecSchema = {
  oneOf: [
    closedObject(
      {
        url: patterned('^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([^/\\s][^\\s]*/)?$', 'an s3://BUCKET/ or s3://BUCKET/PREFIX/ URL ending in /', 'every object under this bucket and key prefix'),
        s3: { ...s3ConnectionName, description: 'the S3 connection (config s3.<name>)' },
        ...treeChoices,
      },
      ['url', 's3'],
    ),
    closedObject(
      {
        url: patterned('^(?!s3://)(?!.*/$).+$', 'an https://, http://, file:// URL or a local path (a folder ends in /)', 'https://, http://, file:// URL or a local path relative to the manifest'),
        sha256: { type: 'string', pattern: '^[A-Fa-f0-9]{64}$', description: 'expected sha256 of the file (hex)' },
        path: { type: 'string', minLength: 1, description: 'where the file lands under files/; a trailing / keeps the URL file name' },
      },
      ['url'],
    ),
    closedObject({ url: patterned('^(?!s3://).*/$', 'a folder: a file:// URL or local path ending in /', 'every regular file below this folder'), ...treeChoices }, ['url']),
  ],
} as const;

/** A tree source: an `s3://` URL or a folder (ending in `/`). */
export function isTree(spec: Pick<FileSpec, 'url'>): boolean {
  return spec.url.startsWith('s3://') || spec.url.endsWith('/');
}
