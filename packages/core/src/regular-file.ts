import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { type AirgapError, type ErrorDetails, UsageError } from './errors.js';

/** Default limit of a manifest or config file (docs/security.md): `--max-manifest-size` changes it for manifests. */
export const MAX_DOCUMENT_BYTES = 16 << 20;

export interface RegularFileOptions {
  /** Most bytes allowed. */
  max: number;
  /** What the file is, in messages: `the manifest`, `the signature`. */
  what: string;
  /** The error class (UsageError for operator files, IntegrityError for bundle files). */
  error?: new (message: string, details?: ErrorDetails) => AirgapError;
  hint?: string;
  /** How the file is named in messages (default: its path). */
  label?: string;
}

/**
 * Open a file the way nothing can make airgap hang on it (docs/security.md "No input blocks"): open
 * non-blocking (a FIFO or device opens at once instead of waiting for a writer), `fstat` the handle, and
 * refuse anything but a regular file, or one larger than `max`. The caller reads from the handle and closes it.
 */
export async function openRegularFile(path: string, opts: RegularFileOptions): Promise<{ fh: FileHandle; size: number }> {
  const E = opts.error ?? UsageError;
  const label = opts.label ?? path;
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (code ?? (e as Error).message);
    throw new E(`${label}: cannot read ${opts.what}: ${why}`, { subject: path, hint: opts.hint, cause: e });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      const kind = st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a regular file';
      throw new E(`${label}: ${opts.what} is ${kind}, not a regular file: refused without reading it`, { subject: path, hint: opts.hint });
    }
    if (st.size > opts.max) {
      throw new E(`${label}: ${opts.what} is ${st.size} bytes, more than the ${opts.max} allowed`, { subject: path, hint: opts.hint });
    }
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** The whole of a regular file of at most `max` bytes (openRegularFile; a file that grows past `max` while read is refused too). */
export async function readRegularFile(path: string, opts: RegularFileOptions): Promise<Buffer> {
  const { fh, size } = await openRegularFile(path, opts);
  try {
    const buf = Buffer.allocUnsafe(Math.min(opts.max, size) + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) {
        const E = opts.error ?? UsageError;
        throw new E(`${opts.label ?? path}: ${opts.what} grew while it was read (more than ${Math.min(opts.max, size)} bytes)`, { subject: path, hint: opts.hint });
      }
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** Regular-file check only (parts: read later, in place). */
export async function assertRegularFile(path: string, opts: RegularFileOptions): Promise<number> {
  const { fh, size } = await openRegularFile(path, opts);
  await fh.close();
  return size;
}

/**
 * Where a text file stops being text: the byte offset of the first NUL or other control byte (TAB, LF
 * and CR are text) or of the first invalid UTF-8 sequence; undefined for text. Syntax errors of a binary
 * file would quote its bytes; it is reported as "not YAML (binary data at byte N)" instead.
 */
export function binaryOffset(buf: Uint8Array): number | undefined {
  for (let i = 0; i < buf.length; ) {
    const b = buf[i];
    if (b < 0x80) {
      if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) return i;
      i++;
      continue;
    }
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > buf.length) return i;
    for (let k = 1; k < len; k++) if ((buf[i + k] & 0xc0) !== 0x80) return i;
    i += len;
  }
  return undefined;
}
