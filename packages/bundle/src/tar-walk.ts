import { open, type FileHandle } from 'node:fs/promises';
import type { PartLocation } from './blob-reader.js';
import type { TarStreamParser } from './tar.js';

const WINDOW = 64 << 10;

/**
 * Walk the tar stream that the parts make, in order, through `parser` (built with skipBlobData): every
 * header, pax record, padding byte, collected entry and the end of the archive are read and checked;
 * a blob's data is stepped over unread, because the part hashes cover those bytes (docs/security.md).
 * Reads a few windows of 64 KiB per entry, across part boundaries, never concatenating parts.
 * Errors are the parser's (an Error with `subject`) or the file system's.
 */
export async function walkTar(parts: PartLocation[], parser: TarStreamParser): Promise<void> {
  const total = parts.reduce((n, p) => n + p.size, 0);
  let fh: FileHandle | undefined;
  let open_ = -1;
  const buf = Buffer.allocUnsafe(WINDOW);
  try {
    let i = 0;
    while (parser.position < total && !parser.done) {
      const skip = Math.min(parser.skippable(), total - parser.position);
      if (skip > 0) {
        parser.skip(skip);
        continue;
      }
      const at = parser.position;
      while (parts[i].start + parts[i].size <= at) i++;
      const part = parts[i];
      if (open_ !== i) {
        // The walk only moves forward: one part open at a time.
        await fh?.close();
        fh = undefined;
        fh = await open(part.path, 'r');
        open_ = i;
      }
      const want = Math.min(WINDOW, part.start + part.size - at);
      const { bytesRead } = await fh!.read(buf, 0, want, at - part.start);
      if (bytesRead === 0) throw Object.assign(new Error(`part ${part.file} is shorter than bundle.json says (it changed during verification)`), { subject: part.file });
      parser.push(buf.subarray(0, bytesRead));
    }
    parser.end();
  } finally {
    await fh?.close();
  }
}
