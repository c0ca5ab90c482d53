import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { feedLanes, hex, md5, wantMd5s } from '../../../test/harness/md5-feed.js';
import { makeMd5Lanes, md5PairWasm } from './md5x.js';

describe('two MD5s in one pass (md5x.ts)', () => {
  const B = 4096;
  for (const size of [0, 1, 55, 56, 63, 64, 65, 119, 120, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 57, 10 * 4096 - 1]) {
    it(`${size} bytes in blocks of ${B}: the file's MD5 and each block's (zero-padded) are node:crypto's`, () => {
      const data = randomBytes(size);
      const got = feedLanes(md5PairWasm(), [data], B, size + 7);
      const want = wantMd5s(data, B);
      expect(got.files).toEqual([want.file]);
      expect(got.blocks).toEqual([want.blocks]);
    });
  }

  it('a block larger than the kernel zero area and input buffer (3 MiB + 64), a short last block padded with MiBs of zeros', () => {
    const bs = 3 * (1 << 20) + 64;
    const data = randomBytes(bs + 1000);
    const got = feedLanes(md5PairWasm(), [data], bs, 3);
    expect(got.files).toEqual([md5(data)]);
    expect(got.blocks).toEqual([[md5(data.subarray(0, bs)), md5(data.subarray(bs), Buffer.alloc(bs - 1000))]]);
  });

  it('starts again for the next file, and refuses a block size that is not a multiple of 64', () => {
    const pair = makeMd5Lanes(md5PairWasm(), 64, 1);
    for (const text of ['first file', 'second']) {
      pair.start();
      const b = Buffer.from(text);
      pair.spaces()[0]!.set(b);
      pair.update(b.length);
      expect(pair.endBlock().map(hex)).toEqual([md5(b, Buffer.alloc(64 - b.length))]);
      expect(pair.endFile().map(hex)).toEqual([md5(b)]);
    }
    expect(() => makeMd5Lanes(md5PairWasm(), 100, 1)).toThrow(/multiple of 64/);
  });
});
