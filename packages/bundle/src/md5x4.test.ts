import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeMd5Quad, md5x4Wasm } from './md5x4.js';

const md5 = (...b: Uint8Array[]) => {
  const h = createHash('md5');
  for (const x of b) h.update(x);
  return Buffer.from(h.digest()).toString('hex');
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Feed parts `a` and `b` (the same size) in pieces of random sizes (never across a block), as the recovery worker does. */
function four(a: Buffer, b: Buffer, blockSize: number, seed: number) {
  const quad = makeMd5Quad(md5x4Wasm(), blockSize);
  quad.start();
  const blocks: [string[], string[]] = [[], []];
  const add = (pair: [Uint8Array, Uint8Array]) => pair.forEach((d, k) => blocks[k]!.push(hex(d)));
  let off = 0;
  let inBlock = 0;
  let r = seed;
  while (off < a.length) {
    r = (r * 1103515245 + 12345) & 0x7fffffff;
    const n = Math.min(1 + (r % 3000), a.length - off, blockSize - inBlock);
    const [sa, sb] = quad.spaces();
    sa.set(a.subarray(off, off + n));
    sb.set(b.subarray(off, off + n));
    quad.update(n);
    off += n;
    inBlock += n;
    if (inBlock === blockSize || off === a.length) {
      add(quad.endBlock());
      inBlock = 0;
    }
  }
  if (a.length === 0) add(quad.endBlock()); // an empty file is one block of zeros in PAR2
  return { files: quad.endFile().map(hex), blocks };
}

/** node:crypto's answer: the file's MD5 and each block's, zero-padded to the block size. */
function want(data: Buffer, bs: number) {
  const blocks: string[] = [];
  for (let at = 0; at < Math.max(1, data.length); at += bs) {
    const piece = data.subarray(at, at + bs);
    blocks.push(md5(piece, Buffer.alloc(bs - piece.length)));
  }
  return { file: md5(data), blocks };
}

describe('four MD5 chains over two parts in SIMD lanes (md5x4.ts)', () => {
  const B = 4096;
  for (const size of [0, 1, 55, 56, 63, 64, 65, 119, 120, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 57, 10 * 4096 - 1]) {
    it(`two different parts of ${size} bytes in blocks of ${B}: both files' MD5s and every block's are node:crypto's`, () => {
      const a = randomBytes(size);
      const b = randomBytes(size);
      const got = four(a, b, B, size + 7);
      const [wa, wb] = [want(a, B), want(b, B)];
      expect(got.files).toEqual([wa.file, wb.file]);
      expect(got.blocks).toEqual([wa.blocks, wb.blocks]);
      if (size > 0) expect(wa.file).not.toBe(wb.file); // the lanes really carry different data
    });
  }

  it('blocks larger than the zero area and the input buffer (3 MiB + 64), a short last block padded with MiBs of zeros', () => {
    const bs = 3 * (1 << 20) + 64;
    const [a, b] = [randomBytes(2 * bs + 1000), randomBytes(2 * bs + 1000)];
    const got = four(a, b, bs, 3);
    const [wa, wb] = [want(a, bs), want(b, bs)];
    expect(got.files).toEqual([wa.file, wb.file]);
    expect(got.blocks).toEqual([wa.blocks, wb.blocks]);
  });

  it('the same data in A and B gives the same digests in both; a whole number of blocks ends without padding', () => {
    const a = randomBytes(5 * 64 * 3);
    const got = four(a, Buffer.from(a), 64 * 3, 11);
    expect(got.files).toEqual([md5(a), md5(a)]);
    expect(got.blocks[0]).toEqual(want(a, 64 * 3).blocks);
    expect(got.blocks[1]).toEqual(got.blocks[0]);
  });

  it('starts again for the next pair of files, and refuses a block size that is not a multiple of 64', () => {
    const quad = makeMd5Quad(md5x4Wasm(), 64);
    for (const [x, y] of [['first A', 'first B'], ['second', 'SECOND']]) {
      quad.start();
      const [a, b] = [Buffer.from(x!), Buffer.from(y!)];
      const [sa, sb] = quad.spaces();
      sa.set(a);
      sb.set(b);
      quad.update(a.length);
      expect(quad.endBlock().map(hex)).toEqual([md5(a, Buffer.alloc(64 - a.length)), md5(b, Buffer.alloc(64 - b.length))]);
      expect(quad.endFile().map(hex)).toEqual([md5(a), md5(b)]);
    }
    expect(() => makeMd5Quad(md5x4Wasm(), 100)).toThrow(/multiple of 64/);
    expect(() => makeMd5Quad(md5x4Wasm(), 65)).toThrow(/multiple of 64/);
  });
});
