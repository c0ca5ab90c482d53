/**
 * Feeds files of the same size to md5x.ts's makeMd5Lanes (one with the scalar kernel, two with
 * md5x4.ts's four lanes) in pieces of pseudo-random sizes, never across a block, as the recovery
 * worker does (packages/bundle/src/recovery-worker.ts); and node:crypto's answer to compare with.
 */
import { createHash } from 'node:crypto';
import { makeMd5Lanes } from '../../packages/bundle/src/md5x.js';

export const md5 = (...b: Uint8Array[]) => {
  const h = createHash('md5');
  for (const x of b) h.update(x);
  return Buffer.from(h.digest()).toString('hex');
};
export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Each file's MD5 and its blocks' MD5s (hex), from the kernel `wasm`. */
export function feedLanes(wasm: Uint8Array, files: Buffer[], blockSize: number, seed: number) {
  const lanes = makeMd5Lanes(wasm, blockSize, files.length as 1 | 2);
  lanes.start();
  const blocks: string[][] = files.map(() => []);
  const endBlock = () => lanes.endBlock().forEach((d, f) => blocks[f]!.push(hex(d)));
  const size = files[0]!.length;
  let off = 0;
  let inBlock = 0;
  let r = seed;
  while (off < size) {
    r = (r * 1103515245 + 12345) & 0x7fffffff;
    const n = Math.min(1 + (r % 3000), size - off, blockSize - inBlock);
    const spaces = lanes.spaces();
    files.forEach((data, f) => spaces[f]!.set(data.subarray(off, off + n)));
    lanes.update(n);
    off += n;
    inBlock += n;
    if (inBlock === blockSize || off === size) {
      endBlock();
      inBlock = 0;
    }
  }
  if (size === 0) endBlock(); // an empty file is one block of zeros in PAR2
  return { files: lanes.endFile().map(hex), blocks };
}

/** node:crypto's answer: the file's MD5 and each block's, zero-padded to the block size. */
export function wantMd5s(data: Buffer, blockSize: number) {
  const blocks: string[] = [];
  for (let at = 0; at < Math.max(1, data.length); at += blockSize) {
    const piece = data.subarray(at, at + blockSize);
    blocks.push(md5(piece, Buffer.alloc(blockSize - piece.length)));
  }
  return { file: md5(data), blocks };
}
