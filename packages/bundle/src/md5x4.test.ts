import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { feedLanes, hex, md5, wantMd5s } from '../../../test/harness/md5-feed.js';
import { makeMd5Lanes } from './md5x.js';
import { md5x4Wasm } from './md5x4.js';

describe('four MD5 chains over two parts in SIMD lanes (md5x4.ts)', () => {
  const B = 4096;
  for (const size of [0, 1, 55, 56, 63, 64, 65, 119, 120, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 57, 10 * 4096 - 1]) {
    it(`two different parts of ${size} bytes in blocks of ${B}: both files' MD5s and every block's are node:crypto's`, () => {
      const [a, b] = [randomBytes(size), randomBytes(size)];
      if (size > 0) b[0] = a[0]! ^ 0x5a; // different data for certain: two random 1-byte parts are equal one time in 256
      const got = feedLanes(md5x4Wasm(), [a, b], B, size + 7);
      const [wa, wb] = [wantMd5s(a, B), wantMd5s(b, B)];
      expect(got.files).toEqual([wa.file, wb.file]);
      expect(got.blocks).toEqual([wa.blocks, wb.blocks]);
      if (size > 0) expect(wa.file).not.toBe(wb.file); // the lanes really carry different data
    });
  }

  it('blocks larger than the zero area and the input buffer (3 MiB + 64), a short last block padded with MiBs of zeros', () => {
    const bs = 3 * (1 << 20) + 64;
    const [a, b] = [randomBytes(2 * bs + 1000), randomBytes(2 * bs + 1000)];
    const got = feedLanes(md5x4Wasm(), [a, b], bs, 3);
    const [wa, wb] = [wantMd5s(a, bs), wantMd5s(b, bs)];
    expect(got.files).toEqual([wa.file, wb.file]);
    expect(got.blocks).toEqual([wa.blocks, wb.blocks]);
  });

  it('the same data in A and B gives the same digests in both; a whole number of blocks ends without padding', () => {
    const a = randomBytes(5 * 64 * 3);
    const got = feedLanes(md5x4Wasm(), [a, Buffer.from(a)], 64 * 3, 11);
    expect(got.files).toEqual([md5(a), md5(a)]);
    expect(got.blocks).toEqual([wantMd5s(a, 64 * 3).blocks, wantMd5s(a, 64 * 3).blocks]);
  });

  it('starts again for the next pair of files, and refuses a block size that is not a multiple of 64', () => {
    const quad = makeMd5Lanes(md5x4Wasm(), 64, 2);
    for (const [x, y] of [['first A', 'first B'], ['second', 'SECOND']]) {
      quad.start();
      const [a, b] = [Buffer.from(x!), Buffer.from(y!)];
      const [sa, sb] = quad.spaces();
      sa!.set(a);
      sb!.set(b);
      quad.update(a.length);
      expect(quad.endBlock().map(hex)).toEqual([md5(a, Buffer.alloc(64 - a.length)), md5(b, Buffer.alloc(64 - b.length))]);
      expect(quad.endFile().map(hex)).toEqual([md5(a), md5(b)]);
    }
    expect(() => makeMd5Lanes(md5x4Wasm(), 100, 2)).toThrow(/multiple of 64/);
    expect(() => makeMd5Lanes(md5x4Wasm(), 65, 2)).toThrow(/multiple of 64/);
  });
});
