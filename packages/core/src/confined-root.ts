import { lstat, mkdir, readFile, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import { join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { PublishContext } from './ecosystem.js';
import { IntegrityError, TargetError } from './errors.js';
import { fileDigest } from './mirror-file.js';
import { MIRROR_TMP_DIR, writeFileAtomic, writeStreamAtomic } from './atomic-file.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The only way a `dir:` publisher touches its mirror (docs/security.md "Publish"): every write, rename,
 * mkdir, delete and read names a path relative to the mirror, which is refused when it is absolute, has
 * `..`/empty segments or control characters, or resolves outside the mirror through a symlink placed in
 * it. This is defence in depth behind the ecosystems' `validate`: a value that slipped past it still
 * cannot reach outside. Operations act on the resolved (symlink-free) path that was checked.
 *
 * `base` is a sub-folder (e.g. `apt`): paths are relative to it, and confinement is to the whole mirror.
 */
export class ConfinedRoot {
  private realRoot?: Promise<string>;

  constructor(
    /** The mirror folder (absolute). */
    readonly mirror: string,
    readonly base = '',
    realRoot?: Promise<string>,
  ) {
    this.realRoot = realRoot;
  }

  /** The same mirror, paths relative to `sub` below this base. */
  under(sub: string): ConfinedRoot {
    return new ConfinedRoot(this.mirror, this.rel(sub), this.realRoot);
  }

  /** The absolute path of `rel`, for messages and for tools that take a folder (lexically checked only). */
  path(rel = ''): string {
    const r = this.rel(rel);
    return r ? join(this.mirror, r) : this.mirror;
  }

  /**
   * Writes are atomic (docs/design.md "Atomic files"): the bytes go to a temporary file in the mirror's
   * `.airgap-tmp/` (never inside a published folder), fsynced, renamed into place, the folder fsynced.
   */
  async writeFile(rel: string, data: string | Uint8Array): Promise<void> {
    const p = await this.resolve(rel, { parents: true });
    await writeFileAtomic(p, data, { tmpDir: await this.tmpDir() });
  }

  async writeStream(rel: string, source: Readable | AsyncIterable<Uint8Array>): Promise<void> {
    const p = await this.resolve(rel, { parents: true });
    await writeStreamAtomic(source, p, { tmpDir: await this.tmpDir() });
  }

  /** `<mirror>/.airgap-tmp`, on the mirror's file system (so a rename from it is atomic). */
  private async tmpDir(): Promise<string> {
    return join(await this.root(true), MIRROR_TMP_DIR);
  }

  async mkdir(rel: string): Promise<void> {
    await mkdir(await this.resolve(rel, { parents: true, followLast: true }), { recursive: true });
    // A symlink in the last place is followed by mkdir: check where the folder really is.
    await this.resolve(rel, { followLast: true });
  }

  /** Remove a file or (recursive) a folder; a symlink is removed itself, never followed. Missing is fine. */
  async rm(rel: string, opts: { recursive?: boolean } = {}): Promise<void> {
    await rm(await this.resolve(rel), { force: true, recursive: opts.recursive ?? false });
  }

  async rename(from: string, to: string): Promise<void> {
    const src = await this.resolve(from);
    const dst = await this.resolve(to, { parents: true });
    await rename(src, dst);
  }

  /** File contents, or undefined when there is no such file. */
  async readFile(rel: string): Promise<Buffer | undefined>;
  async readFile(rel: string, encoding: 'utf8'): Promise<string | undefined>;
  async readFile(rel: string, encoding?: 'utf8'): Promise<Buffer | string | undefined> {
    const p = await this.resolve(rel, { followLast: true });
    try {
      return encoding ? await readFile(p, encoding) : await readFile(p);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async stat(rel: string): Promise<Stats | undefined> {
    const p = await this.resolve(rel, { followLast: true });
    return stat(p).catch((e) => {
      if (isMissing(e)) return undefined;
      throw e;
    });
  }

  async isFile(rel: string): Promise<boolean> {
    return (await this.stat(rel))?.isFile() ?? false;
  }

  async readdir(rel: string): Promise<Dirent[]> {
    const p = await this.resolve(rel, { followLast: true });
    return readdir(p, { withFileTypes: true }).catch((e) => {
      if (isMissing(e)) return [] as Dirent[];
      throw e;
    });
  }

  /** `sha256:<hex>` of a file in the mirror, undefined when there is none. */
  async digest(rel: string): Promise<string | undefined> {
    return fileDigest(await this.resolve(rel, { followLast: true }));
  }

  /**
   * The checked, symlink-free absolute path of `rel`. Symlinks on the way (and in the last place with
   * followLast) are resolved and must stay inside the mirror; `parents` makes missing parent folders.
   */
  async resolve(rel: string, opts: { parents?: boolean; followLast?: boolean } = {}): Promise<string> {
    const r = this.rel(rel);
    const root = await this.root(opts.parents ?? false);
    const segs = r ? r.split('/') : [];
    let at = root;
    for (let i = 0; i < segs.length; i++) {
      const last = i === segs.length - 1;
      const next = join(at, segs[i]);
      let st: Stats | undefined;
      try {
        st = await lstat(next);
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
      if (!st) {
        if (!last && opts.parents) {
          await mkdir(next).catch((e) => {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          });
          i--; // look at it again: something may have raced in
          continue;
        }
        // Nothing there: the rest is created (or not found) inside `at`, which is inside the mirror.
        return join(at, ...segs.slice(i));
      }
      if (st.isSymbolicLink() && (!last || opts.followLast)) {
        const real = await realpath(next).catch((e) => {
          if (isMissing(e)) throw this.outside(r, `${next} is a dangling symlink`);
          throw e;
        });
        if (!inside(root, real)) throw this.outside(r, `${next} is a symlink to ${real}`);
        at = real;
      } else {
        at = next;
      }
    }
    return at;
  }

  /** The mirror's real path; made when a write needs it (a dry run or a read never creates the mirror). */
  private async root(create: boolean): Promise<string> {
    if (this.realRoot) return this.realRoot;
    if (create) {
      this.realRoot = mkdir(this.mirror, { recursive: true }).then(() => realpath(this.mirror));
      return this.realRoot;
    }
    try {
      const real = await realpath(this.mirror);
      this.realRoot ??= Promise.resolve(real);
      return real;
    } catch (e) {
      if (isMissing(e)) return this.mirror; // nothing is there yet: every read finds nothing
      throw e;
    }
  }

  /** `base/rel`, lexically checked: relative, no `.`/`..`/empty segments, no backslash or control characters. */
  private rel(rel: string): string {
    const full = this.base && rel ? `${this.base}/${rel}` : this.base || rel;
    if (full === '') return '';
    const bad = full.startsWith('/') || full.includes('\\') || CONTROL.test(full) || full.split('/').some((s) => s === '' || s === '.' || s === '..');
    if (bad) {
      throw new IntegrityError(`refusing to write ${JSON.stringify(full.slice(0, 200))} in the mirror ${this.mirror}: not a safe relative path`, {
        subject: this.mirror,
        hint: 'a publisher was given a path from the bundle that leaves the mirror; nothing was written (docs/security.md)',
      });
    }
    return full;
  }

  private outside(rel: string, why: string): TargetError {
    return new TargetError(`refusing to touch ${JSON.stringify(rel)} in the mirror ${this.mirror}: ${why}, outside the mirror`, {
      subject: join(this.mirror, rel),
      hint: 'a symlink inside the mirror points elsewhere; airgap never writes through it (docs/security.md): replace it with a folder',
    });
  }
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

const roots = new WeakMap<object, ConfinedRoot>();

/**
 * The confined mirror of a `dir:` target, below `sub` (the ecosystem's folder: `apt`, `oci`, …). One
 * instance per target, so the mirror's real path is looked up once.
 */
export function dirMirror(ctx: Pick<PublishContext, 'target'>, sub: string): ConfinedRoot {
  const t = ctx.target;
  if (t.type !== 'dir') throw new TargetError(`the ${sub} dir publisher was used with a ${t.type} target`);
  let root = roots.get(t);
  if (!root) roots.set(t, (root = new ConfinedRoot(t.path)));
  return root.under(sub);
}
