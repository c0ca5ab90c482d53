import { constants } from 'node:fs';
import { type FileHandle, open, readlink, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';

/**
 * How a request path becomes a file under the mirror, and nothing else (docs/serve.md, "What is
 * refused"): the raw path is split on `/` before any decoding, each segment is percent-decoded once,
 * and a segment that is empty, `.`/`..`, starts with a dot (temp names, `.airgap/` records, lock files),
 * or decodes to something holding `/`, `\` or NUL is refused. So `..`, `%2e%2e`, `%2f` and `%5c` never
 * climb; a double-encoded `%252e%252e` decodes to the literal name `%2e%2e`, which is not a parent.
 * After the file is opened, the path the kernel actually opened (`/proc/self/fd/N`) must lie under the
 * mirror's real path: a symlink inside the mirror that points out is refused without a race between
 * checking and opening.
 */
export class UnsafePath extends Error {}

/** Segments of a raw (still percent-encoded) path, decoded; throws UnsafePath for anything refused. */
export function pathSegments(raw: string): string[] {
  if (raw === '') return [];
  return raw.split('/').map((s) => {
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      throw new UnsafePath(`bad percent-encoding in ${JSON.stringify(s)}`);
    }
    if (d === '' || d.startsWith('.') || /[/\\\0]/.test(d) || d.endsWith('.lock')) throw new UnsafePath(`path segment ${JSON.stringify(s)} is not served`);
    return d;
  });
}

export interface OpenFile {
  handle: FileHandle;
  size: number;
  mtime: Date;
}

/** The mirror root, resolved once to its real path, and confined opens below it. */
export class MirrorRoot {
  private constructor(readonly path: string) {}

  static async open(dir: string): Promise<MirrorRoot> {
    return new MirrorRoot(await realpath(dir));
  }

  /** Open a regular file at `segments` (already checked by pathSegments); undefined when there is none. */
  async openFile(segments: string[]): Promise<OpenFile | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(join(this.path, ...segments), constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP' || code === 'EACCES' || code === 'ENAMETOOLONG') return undefined;
      throw e;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile() || !(await this.holds(handle))) {
        await handle.close();
        return undefined;
      }
      return { handle, size: st.size, mtime: st.mtime };
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /** Read a small file whole (indexes and packuments, never blobs); undefined when there is none. */
  async readText(segments: string[], max = 64 << 20): Promise<string | undefined> {
    const f = await this.openFile(segments);
    if (!f) return undefined;
    try {
      if (f.size > max) throw new Error(`${join(...segments)} is larger than ${max} bytes`);
      return await f.handle.readFile('utf8');
    } finally {
      await f.handle.close();
    }
  }

  private async holds(handle: FileHandle): Promise<boolean> {
    let actual: string;
    try {
      actual = await readlink(`/proc/self/fd/${handle.fd}`);
    } catch {
      return false;
    }
    return actual.startsWith(this.path + sep);
  }
}
