import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentStore } from './store.js';
import { readJson, sizeOf } from './transfer-util.js';

/**
 * The resume bookkeeping of the transfer engine (packages/core/src/transfer.ts, docs/transfers.md): a
 * download in progress lives in the store's `partial/` folder as its bytes so far (`<name>`) and the
 * validators to resume them by (`<name>.json`: the URL and the ETag or Last-Modified of the answer the
 * bytes came from). A later attempt, or the next run, asks for the rest with `Range`/`If-Range`.
 */

/** What `<name>.json` holds. */
export interface PartialMeta {
  url: string;
  etag?: string;
  lastModified?: string;
}

const PARTIAL_DIR = 'partial';

/** One blob's partial download: `path` the bytes, `metaPath` their validators. */
export class PartialDownload {
  readonly path: string;
  readonly metaPath: string;

  private constructor(dir: string, name: string) {
    this.path = join(dir, name);
    this.metaPath = this.path + '.json';
  }

  /** The partial download named `name` (a digest's hex, or a hash of the URL) in `store`. */
  static async open(store: ContentStore, name: string): Promise<PartialDownload> {
    const dir = join(store.root, PARTIAL_DIR);
    await mkdir(dir, { recursive: true });
    return new PartialDownload(dir, name);
  }

  /**
   * Bytes of an earlier attempt or run that may be resumed: same URL, a validator to ask If-Range with.
   * Anything else is removed and 0 returned.
   */
  async usable(url: string): Promise<number> {
    const meta = await readJson<PartialMeta>(this.metaPath);
    const size = await sizeOf(this.path);
    if (meta && meta.url === url && (meta.etag || meta.lastModified) && size > 0) return size;
    await this.drop();
    return 0;
  }

  /** The validators the bytes on disk came with (just the URL when they are unreadable). */
  async meta(url: string): Promise<PartialMeta> {
    return (await readJson<PartialMeta>(this.metaPath)) ?? { url };
  }

  /** A new answer starts the blob over: no bytes yet, and this answer's validators. */
  async restart(meta: PartialMeta): Promise<void> {
    await this.dropBytes();
    await writeFile(this.metaPath, JSON.stringify(meta));
  }

  /** Forget the bytes (the server refused the range), keeping the validators. */
  async dropBytes(): Promise<void> {
    await rm(this.path, { force: true });
  }

  /** Forget the download: its bytes (unless already moved into the store) and its validators. */
  async drop(): Promise<void> {
    await rm(this.path, { force: true });
    await rm(this.metaPath, { force: true });
  }
}

/** Remove the partial downloads of `store` whose names are not in `keep` (a killed run's leftovers). */
export async function sweepPartials(store: ContentStore, keep: ReadonlySet<string>): Promise<void> {
  const dir = join(store.root, PARTIAL_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const base = n.replace(/\.json$/, '');
    if (!keep.has(base)) await rm(join(dir, n), { force: true });
  }
}
