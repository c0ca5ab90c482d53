import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * The folder beside a mirror's published folders where files are written before they are renamed into
 * place (docs/design.md "Atomic files"). `airgap serve` never serves a dot segment, and the dir target
 * removes it when an unpack starts, so a killed run leaves nothing under a published name.
 */
export const MIRROR_TMP_DIR = '.airgap-tmp';

/** fsync a file's bytes to disk (before it is renamed into place). */
export async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync a folder, so a rename into it survives a power cut (a file system that cannot: nothing to do). */
export async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync().catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EINVAL' && e.code !== 'ENOTSUP' && e.code !== 'EISDIR') throw e;
    });
  } finally {
    await fh.close();
  }
}

/** Create `path` exclusively (EEXIST if it is there) holding `data`, fsynced before it is closed. */
export async function writeNewSynced(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface AtomicOptions {
  /** Folder for the temporary file (same file system as `path`); default: beside `path`. Made when missing. */
  tmpDir?: string;
  mode?: number;
}

function tmpName(path: string, opts: AtomicOptions): string {
  return join(opts.tmpDir ?? dirname(path), `.airgap-${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Write a file so that a reader (or the next run after a crash) never sees half of it under its name: a
 * temporary file, fsynced, renamed into place, and the folder fsynced; the temporary file is removed on
 * any error. Parent folders are made.
 */
async function atomically(path: string, opts: AtomicOptions, write: (tmp: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  if (opts.tmpDir) await mkdir(opts.tmpDir, { recursive: true });
  const tmp = tmpName(path, opts);
  try {
    await write(tmp);
    await syncFile(tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dirname(path));
}

/** Write a whole file atomically (see `atomically`). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicOptions | number = {}): Promise<void> {
  const o = typeof opts === 'number' ? { mode: opts } : opts;
  await atomically(path, o, (tmp) => writeFile(tmp, data, o.mode === undefined ? undefined : { mode: o.mode }));
}

/**
 * Stream `source` (through `through`) into a new file at `path`. The file is opened before the first byte
 * flows and closed before this returns or throws, so a caller that removes `path` on error removes it for
 * good. (A bare `createWriteStream(path)` opens its file asynchronously: when the source failed at once,
 * the pipeline rejected while that open was still in flight, the caller's `rm` ran first, and the file
 * appeared after it, left behind.)
 */
export async function pipeToNewFile(source: Readable | AsyncIterable<Uint8Array>, path: string, through?: Transform): Promise<void> {
  const out = (await open(path, 'w')).createWriteStream({ highWaterMark: 1 << 20 });
  try {
    await (through ? pipeline(source, through, out) : pipeline(source, out));
  } finally {
    // the stream closes its handle when it ends or is destroyed (after a write still in flight on it)
    if (!out.closed) await once(out, 'close');
  }
}

/** Stream `source` into `path` atomically. Blobs from a bundle are checked against their digest while they stream (BlobSource). */
export async function writeStreamAtomic(source: Readable | AsyncIterable<Uint8Array>, path: string, opts: AtomicOptions = {}): Promise<void> {
  await atomically(path, opts, (tmp) => pipeToNewFile(source, tmp));
}
