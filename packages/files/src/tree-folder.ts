import type { Dirent } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type SourceContext, IntegrityError, UpstreamError } from '@airgap/core';
import type { FileSpec } from './spec.js';
import { cacheLocalFile } from './local-copy.js';
import type { TreeEntry, TreeFile, TreeOrigin } from './tree.js';

function special(d: Dirent): string {
  if (d.isSymbolicLink()) return 'a symbolic link';
  if (d.isFIFO()) return 'a FIFO';
  if (d.isSocket()) return 'a socket';
  if (d.isBlockDevice() || d.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * `url: file:///srv/backups/etcd/` (or a path ending in `/`): every regular file below the folder. A
 * symlink, FIFO, socket or device below it is listed as refused, so a link cannot carry a file from outside
 * the tree (e.g. /etc/shadow) into a bundle; the folder itself may be a link (a mount point often is).
 */
export function folderOrigin(spec: FileSpec, manifestDir: string): TreeOrigin {
  const u = spec.url;
  const root = u.startsWith('file://') ? fileURLToPath(u) : isAbsolute(u) ? u : resolvePath(manifestDir, u);
  const display = u.startsWith('file://') ? u : root + '/';
  const full = (rel: string) => join(root, ...rel.split('/'));
  return {
    display,
    defaultPath: basename(root),
    async list() {
      let st;
      try {
        st = await stat(root);
      } catch (e) {
        throw new UpstreamError(`folder ${display}: not found`, { subject: display, hint: 'check the path in the manifest (relative paths are relative to the manifest)', cause: e });
      }
      if (!st.isDirectory()) throw new UpstreamError(`${display}: not a folder`, { subject: display, hint: 'a url ending in / names a folder; drop the / to carry one file' });
      const out: TreeEntry[] = [];
      const walk = async (dir: string, prefix: string): Promise<void> => {
        for (const d of await readdir(dir, { withFileTypes: true })) {
          const rel = prefix + d.name;
          if (d.isDirectory()) await walk(join(dir, d.name), rel + '/');
          else if (d.isFile()) {
            const s = await lstat(join(dir, d.name));
            out.push({ rel, size: s.size, mtime: s.mtimeMs });
          } else {
            const s = await lstat(join(dir, d.name));
            out.push({ rel, size: 0, mtime: s.mtimeMs, refused: special(d) });
          }
        }
      };
      await walk(root, '');
      return out;
    },
    urlOf: (entry) => pathToFileURL(full(entry.rel)).toString(),
    async bring(entry, ctx) {
      return bringFile(full(entry.rel), entry.size, undefined, ctx);
    },
  };
}

const VERIFIED = 'a regular file of the folder; sha256 recorded at pack';

async function bringFile(path: string, size: number, digest: string | undefined, ctx: SourceContext): Promise<TreeFile> {
  if (ctx.dryRun) return { digest: digest ?? 'sha256:' + '0'.repeat(64), size, verified: VERIFIED + ' (dry run: not read)' };
  try {
    const d = await cacheLocalFile(ctx, path, { digest, size, subject: path });
    return { digest: d.digest, size: d.size, verified: VERIFIED };
  } catch (e) {
    if (e instanceof IntegrityError && !digest) {
      throw new UpstreamError(`${path} changed while it was read (it was ${size} bytes when listed)`, { subject: path, hint: 'pack again once the file is complete, or exclude files still being written', cause: e });
    }
    throw e;
  }
}
