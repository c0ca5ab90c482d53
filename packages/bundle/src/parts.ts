import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface PartInfo {
  file: string;
  size: number;
  sha256: string;
}

/** `part-00001`…: five digits so that name order is stream order (SPEC §5). */
export function partName(n: number): string {
  return `part-${String(n).padStart(5, '0')}`;
}

const STAGE = 4 << 20;

/**
 * The tar stream cut into parts of exactly `chunkSize` bytes (the last may be shorter), each hashed in
 * the same pass that writes it. Bytes are staged in two 4 MiB buffers: one fills while the other is
 * written, so reading blobs and writing parts overlap without holding more than 8 MiB.
 * Each finished part is fsynced in the background while the next one is written; finish() waits for all.
 */
export class PartWriter {
  readonly parts: PartInfo[] = [];
  private cur = Buffer.allocUnsafe(STAGE);
  private spare = Buffer.allocUnsafe(STAGE);
  private used = 0;
  private inflight: Promise<void> = Promise.resolve();
  private fh: FileHandle | undefined;
  private partSize = 0;
  private hash: Hash | undefined;
  private syncs: Promise<void>[] = [];
  written = 0;
  /** Bytes handed to write() so far (written or staged). */
  accepted = 0;

  constructor(
    private readonly dir: string,
    private readonly chunkSize: number,
    private readonly onBytes?: (n: number) => void,
  ) {
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunk size must be a positive integer, got ${chunkSize}`);
  }

  async write(src: Uint8Array): Promise<void> {
    this.accepted += src.length;
    let off = 0;
    while (off < src.length) {
      const n = Math.min(STAGE - this.used, src.length - off);
      this.cur.set(src.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      if (this.used === STAGE) await this.rotate();
    }
  }

  private async rotate(): Promise<void> {
    // The spare buffer is free only once the previous flush has finished with it.
    await this.inflight;
    const full = this.cur.subarray(0, this.used);
    [this.cur, this.spare] = [this.spare, this.cur];
    this.used = 0;
    const p = this.flush(full);
    p.catch(() => undefined); // surfaced by the next await of inflight
    this.inflight = p;
  }

  private async flush(buf: Buffer): Promise<void> {
    let off = 0;
    while (off < buf.length) {
      if (!this.fh || this.partSize === this.chunkSize) await this.nextPart();
      const n = Math.min(this.chunkSize - this.partSize, buf.length - off);
      const piece = buf.subarray(off, off + n);
      this.hash!.update(piece);
      let done = 0;
      while (done < n) {
        const { bytesWritten } = await this.fh!.write(piece, done, n - done);
        done += bytesWritten;
      }
      this.partSize += n;
      this.written += n;
      off += n;
      this.onBytes?.(n);
    }
  }

  private async closePart(): Promise<void> {
    if (!this.fh) return;
    const fh = this.fh;
    this.parts.push({ file: partName(this.parts.length + 1), size: this.partSize, sha256: this.hash!.digest('hex') });
    this.fh = undefined;
    const s = fh.sync().finally(() => fh.close());
    s.catch(() => undefined);
    this.syncs.push(s);
  }

  private async nextPart(): Promise<void> {
    await this.closePart();
    this.fh = await open(join(this.dir, partName(this.parts.length + 1)), 'wx', 0o644);
    this.partSize = 0;
    this.hash = createHash('sha256');
  }

  /** Flush, close and fsync every part. */
  async finish(): Promise<PartInfo[]> {
    await this.inflight;
    if (this.used > 0) {
      const rest = this.cur.subarray(0, this.used);
      this.used = 0;
      await this.flush(rest);
    }
    await this.closePart();
    await Promise.all(this.syncs);
    return this.parts;
  }

  /** Close whatever is open after a failure (the caller removes the directory). */
  async abort(): Promise<void> {
    await this.inflight.catch(() => undefined);
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    await Promise.allSettled(this.syncs);
  }
}
