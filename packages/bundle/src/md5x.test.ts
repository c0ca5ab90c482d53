import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeMd5Pair, md5PairWasm } from './md5x.js';

const md5 = (...b: Uint8Array[]) => {
  const h = createHash('md5');
  for (const x of b) h.update(x);
  return Buffer.from(h.digest()).toString('hex');
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Feed `data` in pieces of random sizes (never across a block), as the recovery worker does. */
function both(data: Buffer, blockSize: number, seed: number) {
  const pair = makeMd5Pair(md5PairWasm(), blockSize);
  pair.start();
  const blocks: string[] = [];
  let off = 0;
  let inBlock = 0;
  let r = seed;
  while (off < data.length) {
    r = (r * 1103515245 + 12345) & 0x7fffffff;
    const n = Math.min(1 + (r % 3000), data.length - off, blockSize - inBlock);
    pair.space().set(data.subarray(off, off + n));
    pair.update(n);
    off += n;
    inBlock += n;
    if (inBlock === blockSize || off === data.length) {
      blocks.push(hex(pair.endBlock()));
      inBlock = 0;
    }
  }
  if (data.length === 0) blocks.push(hex(pair.endBlock())); // an empty file is one block of zeros in PAR2
  return { file: hex(pair.endFile()), blocks };
}

describe('two MD5s in one pass (md5x.ts)', () => {
  const B = 4096;
  for (const size of [0, 1, 55, 56, 63, 64, 65, 119, 120, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 57, 10 * 4096 - 1]) {
    it(`${size} bytes in blocks of ${B}: the file's MD5 and each block's (zero-padded) are node:crypto's`, () => {
      const data = randomBytes(size);
      const got = both(data, B, size + 7);
      expect(got.file).toBe(md5(data));
      const want: string[] = [];
      for (let at = 0; at < Math.max(1, size); at += B) {
        const piece = data.subarray(at, at + B);
        want.push(md5(piece, Buffer.alloc(B - piece.length)));
      }
      expect(got.blocks).toEqual(want);
    });
  }

  it('a block larger than the kernel zero area and input buffer (3 MiB + 64), a short last block padded with MiBs of zeros', () => {
    const bs = 3 * (1 << 20) + 64;
    const data = randomBytes(bs + 1000);
    const got = both(data, bs, 3);
    expect(got.file).toBe(md5(data));
    expect(got.blocks).toEqual([md5(data.subarray(0, bs)), md5(data.subarray(bs), Buffer.alloc(bs - 1000))]);
  });

  it('starts again for the next file, and refuses a block size that is not a multiple of 64', () => {
    const pair = makeMd5Pair(md5PairWasm(), 64);
    for (const text of ['first file', 'second']) {
      pair.start();
      const b = Buffer.from(text);
      pair.space().set(b);
      pair.update(b.length);
      expect(hex(pair.endBlock())).toBe(md5(b, Buffer.alloc(64 - b.length)));
      expect(hex(pair.endFile())).toBe(md5(b));
    }
    expect(() => makeMd5Pair(md5PairWasm(), 100)).toThrow(/multiple of 64/);
  });
});
