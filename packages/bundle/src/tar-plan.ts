/**
 * The bundle's tar stream laid out before it is written (docs/bundle-format.md): the byte pieces (headers,
 * small entries, padding, the trailer) and the blobs, in order. Its length is known before the first
 * byte, so the recovery data can be planned, and the first 16 KiB of every part (what a PAR2 file ID is
 * made of) can be read from the content store ahead of time, so the Reed–Solomon work can follow the
 * parts as they are written (docs/transfer.md "How airgap writes PAR2").
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { digestHex } from '@airgap/core';
import { BLOB_PREFIX } from './format.js';
import { padding, tarHeader, tarTrailer } from './tar.js';
import type { BundleBlob } from './writer.js';

export type Piece = { bytes: Buffer } | { blob: BundleBlob };

const pieceLength = (p: Piece) => ('bytes' in p ? p.bytes.length : p.blob.descriptor.size);

/** Small entries (name, bytes), then the blobs/ folders, then every blob, then the trailer; and the stream's length. */
export function tarPieces(small: [string, Buffer][], dirs: string[], blobs: BundleBlob[], mtime: Date): { pieces: Piece[]; length: number } {
  const pieces: Piece[] = [];
  for (const [name, data] of small) pieces.push({ bytes: tarHeader({ name, size: data.length, type: 'file', mtime }) }, { bytes: data }, { bytes: Buffer.alloc(padding(data.length)) });
  for (const name of dirs) pieces.push({ bytes: tarHeader({ name, size: 0, type: 'dir', mtime }) });
  for (const blob of blobs) {
    const { digest, size } = blob.descriptor;
    pieces.push({ bytes: tarHeader({ name: BLOB_PREFIX + digestHex(digest), size, type: 'file', mtime }) }, { blob }, { bytes: Buffer.alloc(padding(size)) });
  }
  const before = pieces.reduce((n, p) => n + pieceLength(p), 0);
  const trailer = tarTrailer(before);
  pieces.push({ bytes: trailer });
  return { pieces, length: before + trailer.length };
}

/**
 * MD5 of the first 16 KiB of each part of these sizes, read from the pieces (blobs from their files once
 * ready); undefined when a blob there is only a stream. The PAR2 writer checks them against the parts.
 */
export async function partHeads(pieces: Piece[], sizes: number[]): Promise<Buffer[] | undefined> {
  const heads: Buffer[] = [];
  let start = 0;
  for (const size of sizes) {
    const head = Buffer.alloc(Math.min(16384, size));
    let at = 0;
    for (const p of pieces) {
      const len = pieceLength(p);
      const from = Math.max(start, at);
      const to = Math.min(start + head.length, at + len);
      if (from < to) {
        if ('bytes' in p) p.bytes.copy(head, from - start, from - at, to - at);
        else {
          if (p.blob.path === undefined) return undefined;
          await p.blob.ready;
          const fh = await open(p.blob.path, 'r');
          try {
            await fh.read(head, from - start, to - from, from - at);
          } finally {
            await fh.close();
          }
        }
      }
      at += len;
      if (at >= start + head.length) break;
    }
    heads.push(createHash('md5').update(head).digest());
    start += size;
  }
  return heads;
}
