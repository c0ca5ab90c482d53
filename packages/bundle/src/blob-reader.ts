import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { type BlobSource, type Descriptor, IntegrityError } from '@airgap/core';

export interface PartLocation {
  file: string;
  path: string;
  /** Offset of the part's first byte in the whole tar stream. */
  start: number;
  size: number;
}

export interface BlobLocation {
  digest: string;
  /** Offset of the blob's data in the whole tar stream. */
  offset: number;
  size: number;
}

const READ = 1 << 20;

/**
 * Random access to the blobs of a verified bundle: each blob is a byte range of the tar stream, read
 * straight from the part files (across part boundaries, never concatenating parts) and hashed again as
 * it flows, because the files may change between verify and publish (docs/design.md).
 */
export class BlobReader implements BlobSource {
  constructor(
    private readonly blobs: Map<string, BlobLocation>,
    private readonly parts: PartLocation[],
  ) {}

  has(digest: string): boolean {
    return this.blobs.has(digest);
  }

  open(blob: Descriptor): Readable {
    const loc = this.blobs.get(blob.digest);
    if (!loc || loc.size !== blob.size) {
      const why = loc ? `it is ${loc.size} bytes there, not ${blob.size}` : 'it is not in the bundle';
      return new Readable({
        read() {
          this.destroy(new IntegrityError(`blob ${blob.digest} cannot be read from the bundle: ${why}`, { subject: blob.digest }));
        },
      });
    }
    return new BlobStream(loc, this.parts);
  }
}

class BlobStream extends Readable {
  private pos = 0;
  private fh: FileHandle | undefined;
  private fhPart = -1;
  private readonly hash: Hash = createHash('sha256');

  constructor(
    private readonly loc: BlobLocation,
    private readonly parts: PartLocation[],
  ) {
    super({ highWaterMark: READ });
  }

  override _read(): void {
    this.next().then(
      (chunk) => {
        if (chunk) this.push(chunk);
        else this.push(null);
      },
      (e) => this.destroy(e),
    );
  }

  private async next(): Promise<Buffer | undefined> {
    const { loc } = this;
    if (this.pos === loc.size) {
      const digest = 'sha256:' + this.hash.digest('hex');
      if (digest !== loc.digest) {
        // Either the parts changed after verification, or the signer packed bytes that are not this
        // blob (verify does not hash blobs; the signed part hashes cover their bytes: docs/security.md).
        throw new IntegrityError(`blob ${loc.digest} is corrupt: its bytes hash to ${digest}`, { subject: loc.digest, hint: 'the part files were modified after verification, or the bundle was signed with a damaged blob; verify it again, and do not use it if this repeats' });
      }
      await this.closePart();
      return undefined;
    }
    const at = loc.offset + this.pos;
    const i = this.partAt(at);
    const part = this.parts[i];
    if (this.fhPart !== i) {
      await this.closePart();
      try {
        this.fh = await open(part.path, 'r');
      } catch (e) {
        throw new IntegrityError(`part ${part.file} disappeared after verification (${(e as Error).message})`, { subject: part.file, cause: e });
      }
      this.fhPart = i;
    }
    const want = Math.min(READ, loc.size - this.pos, part.start + part.size - at);
    const buf = Buffer.allocUnsafe(want);
    let n = 0;
    while (n < want) {
      const { bytesRead } = await this.fh!.read(buf, n, want - n, at - part.start + n);
      if (bytesRead === 0) throw new IntegrityError(`part ${part.file} was truncated after verification`, { subject: part.file, hint: 'verify the bundle again' });
      n += bytesRead;
    }
    this.hash.update(buf);
    this.pos += n;
    return buf;
  }

  private partAt(offset: number): number {
    let lo = 0;
    let hi = this.parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.parts[mid].start <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private async closePart(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    this.fhPart = -1;
    await fh?.close();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.closePart().then(
      () => cb(err),
      () => cb(err),
    );
  }
}
