import { createReadStream } from 'node:fs';

/** One line of a JSON Lines file with where it starts, so a torn tail can be cut off exactly. */
export interface RawLine {
  /** 1-based line number. */
  no: number;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** The line's text without its newline. */
  text: string;
  /** False only for a last line that has no newline: the write of it was cut short. */
  terminated: boolean;
}

/**
 * Stream the lines of a file (never the whole file in memory). Yields nothing for a missing file.
 * Lines are split on `\n` bytes, so offsets are exact byte offsets even with multi-byte text.
 */
export async function* readLines(path: string): AsyncGenerator<RawLine> {
  let no = 0;
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl < 0) break;
        const piece = chunk.subarray(start, nl);
        const bytes = pendingLen ? Buffer.concat([...pending, piece]) : piece;
        pending = [];
        pendingLen = 0;
        no++;
        yield { no, offset, text: bytes.toString('utf8'), terminated: true };
        offset += bytes.length + 1;
        start = nl + 1;
      }
      if (start < chunk.length) {
        pending.push(chunk.subarray(start));
        pendingLen += chunk.length - start;
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  } finally {
    stream.destroy();
  }
  if (pendingLen) {
    no++;
    yield { no, offset, text: Buffer.concat(pending).toString('utf8'), terminated: false };
  }
}
