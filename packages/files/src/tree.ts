import { posix } from 'node:path';
import picomatch from 'picomatch';
import pMap from 'p-map';
import { type Artifact, type SourceContext, OCTET_STREAM, UsageError } from '@airgap/core';
import type { FileSpec } from './spec.js';
import { checkRelativePath } from './target-path.js';

/** One file of a tree as its listing shows it, before any byte is read. */
export interface TreeEntry {
  /** Path below the tree (the S3 key without the prefix, or the path below the folder), `/`-separated. */
  rel: string;
  size: number;
  /** Modification time in ms (S3 LastModified, file mtime): `newest` sorts by it. */
  mtime: number;
  /** Why it cannot be carried (a symlink, a FIFO, …): refused by name if include/exclude keep it. */
  refused?: string;
}

/** What a tree's origin brings into the store for one entry. */
export interface TreeFile {
  digest: string;
  size: number;
  contentType?: string;
  /** The upstream's own integrity data, e.g. { md5 } from an S3 ETag, { sha256 } from object metadata. */
  integrity?: Record<string, string>;
  verified: string;
}

/** A tree source: an S3 prefix or a folder (docs/manifest.md, files trees). */
export interface TreeOrigin {
  /** `s3://bucket/prefix/` or `file:///srv/backups/etcd/`, for messages and the index. */
  display: string;
  /** Where the tree lands when the entry has no `path:`. */
  defaultPath: string;
  list(): Promise<TreeEntry[]>;
  /** `url` of one entry, as the index records it (`s3://bucket/key`, `file:///…`). */
  urlOf(entry: TreeEntry): string;
  /** Stream one entry into the store (checking what the upstream says about it), or say what the cache has. */
  bring(entry: TreeEntry, ctx: SourceContext): Promise<TreeFile>;
  /** Facts the artifact keeps so fetch() can bring it again (e.g. the S3 connection's name). */
  meta?: Record<string, unknown>;
}

/**
 * include/exclude (globs against the path below the tree, dotfiles included), then `newest: N` by
 * modification time (ties: the later path first). The result is in path order, so the same tree packs
 * the same artifacts in the same order.
 */
export function selectEntries(entries: TreeEntry[], spec: Pick<FileSpec, 'include' | 'exclude' | 'newest'>): TreeEntry[] {
  const included = spec.include ? picomatch(spec.include, { dot: true }) : () => true;
  const excluded = spec.exclude ? picomatch(spec.exclude, { dot: true }) : () => false;
  let kept = entries.filter((e) => included(e.rel) && !excluded(e.rel));
  if (spec.newest !== undefined) {
    kept = [...kept].sort((a, b) => b.mtime - a.mtime || (a.rel < b.rel ? 1 : a.rel > b.rel ? -1 : 0)).slice(0, spec.newest);
  }
  return kept.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** Where one entry lands under `files/` (and under an s3 target's prefix): `<path>/<rel>`. */
export function landingPath(treePath: string, rel: string): string {
  const base = treePath.replace(/\/+$/, '');
  return checkRelativePath(base === '' || base === '.' ? rel : `${base}/${rel}`);
}

/**
 * A path below a tree must be one that lands where it says: no empty, `.` or `..` segments, no leading
 * `/` (S3 keys may hold all of these). Such an entry is refused by name rather than renamed.
 */
export function unsafeRel(rel: string): boolean {
  return rel === '' || rel.startsWith('/') || rel.split('/').some((s) => s === '' || s === '.' || s === '..') || rel.includes('\0') || rel.includes('\\') || posix.normalize(rel) !== rel;
}

/** Resolve a tree entry of the manifest: list, select, bring each selected file into the store. */
export async function resolveTree(origin: TreeOrigin, spec: FileSpec, ctx: SourceContext): Promise<Artifact[]> {
  const selected = selectEntries(await origin.list(), spec);
  const refused = selected.filter((e) => e.refused);
  if (refused.length) {
    const shown = refused.slice(0, 20).map((e) => `  ${e.rel}: ${e.refused}`).join('\n');
    throw new UsageError(`${origin.display}: ${refused.length} entr${refused.length === 1 ? 'y' : 'ies'} cannot be carried (only regular files are):\n${shown}${refused.length > 20 ? `\n  … and ${refused.length - 20} more` : ''}`, {
      subject: origin.display,
      hint: 'leave them out with exclude: in the manifest entry, or replace them with the files they stand for',
    });
  }
  if (!selected.length) ctx.log.warn(`${origin.display}: no files match (include/exclude/newest); nothing is carried from it`);
  const treePath = spec.path ?? origin.defaultPath;
  // p-map only queues the entries (open files); an entry's download waits for the transfer engine's one limit.
  return pMap(selected, async (entry): Promise<Artifact> => {
    const path = landingPath(treePath, entry.rel);
    const file = await origin.bring(entry, ctx);
    return {
      kind: 'file',
      name: path,
      version: '',
      digest: file.digest,
      blobs: [{ mediaType: OCTET_STREAM, digest: file.digest, size: file.size }],
      upstream: { url: origin.urlOf(entry), integrity: file.integrity, verified: file.verified },
      meta: {
        path,
        ...(file.contentType ? { contentType: file.contentType } : {}),
        mtime: new Date(entry.mtime).toISOString(),
        ...origin.meta,
      },
    };
  }, { concurrency: ctx.concurrency });
}
