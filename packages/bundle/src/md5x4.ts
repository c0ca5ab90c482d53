/**
 * The MD5s PAR2 needs of two parts of the same size at once (docs/transfer.md "How airgap writes PAR2"):
 * four MD5 chains in the four i32 lanes of WebAssembly SIMD vectors, lane 0 part A's whole-file MD5,
 * lane 1 A's current block, lane 2 part B's file, lane 3 B's block. Two full parts have the same size
 * and the same block boundaries, so all four chains take a 64-byte step at the same offset, lanes 0 and
 * 1 on A's message words, 2 and 3 on B's. A block's end closes lanes 1 and 3 on a copy of the state, as
 * md5x.ts does for one part. Parts without a partner of the same size (the short last one) use md5x.ts:
 * SIMD lanes over one part's two chains were slower than its scalar kernel (a vector rotate is a shift,
 * a shift and an or, where a scalar one is one instruction), over two parts they win.
 * Measured alone on one core, in the same process: see md5x4Wasm's comment (docs/transfer.md has the
 * whole-pack figure).
 *
 * `makeMd5Quad` is self-contained (no imports, no outer names): the recovery worker runs it from its
 * source text (recovery-worker.ts). The module is assembled here byte by byte (no toolchain).
 */
import { leb, sleb } from './wasm-bytes.js';

export function makeMd5Quad(wasm: Uint8Array, blockSize: number) {
  if (blockSize % 64 !== 0) throw new Error(`the PAR2 block size ${blockSize} is not a multiple of 64`);
  // Memory: the state (a, b, c, d: lanes 0-3 of each in 16 bytes) at 0, a scratch state at 64, padding
  // for A at 128 and for B at 256 (two message blocks each), zeros at 4096 (ZERO bytes), then the inputs
  // of A and B: a carry of < 64 bytes, then CAP bytes each.
  const [STATE, TMP, PAD_A, PAD_B, ZEROS, ZERO, CAP] = [0, 64, 128, 256, 4096, 1 << 16, 1 << 20];
  const IN_A = ZEROS + ZERO;
  const IN_B = IN_A + 64 + CAP;
  const mem = new WebAssembly.Memory({ initial: Math.ceil((IN_B + 64 + CAP) / 65536) });
  const kernel = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource), { e: { m: mem } }).exports.md5x4 as (state: number, a: number, b: number, end: number) => void;
  const heap = new Uint8Array(mem.buffer);
  const words = new Uint32Array(mem.buffer, 0, 32);
  const IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  let carry = 0;
  let inBlock = 0; // bytes of the current block given so far (the same in A and B)
  let length = 0; // bytes of each file given so far
  const reset = (lane: number) => IV.forEach((v, k) => (words[4 * k + lane] = v));
  const digest = (at: number, lane: number) => {
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    for (let k = 0; k < 4; k++) view.setUint32(4 * k, words[at / 4 + 4 * k + lane]!, true);
    return out;
  };
  /** MD5's closing block(s) after `tail` bytes already at pad: 0x80, zeros, the bit length; returns the block count. */
  const close = (pad: number, tail: number, bytes: number) => {
    const blocks = tail < 56 ? 1 : 2;
    heap.fill(0, pad + tail, pad + 64 * blocks);
    heap[pad + tail] = 0x80;
    const bits = new DataView(mem.buffer, pad + 64 * blocks - 8, 8);
    bits.setUint32(0, (bytes * 8) >>> 0, true);
    bits.setUint32(4, Math.floor((bytes * 8) / 2 ** 32), true);
    return blocks;
  };
  /** Both carries (the bytes after the last whole 64) to the padding areas, the state to TMP. */
  const toTmp = () => {
    heap.copyWithin(TMP, STATE, STATE + 64);
    heap.copyWithin(PAD_A, IN_A, IN_A + carry);
    heap.copyWithin(PAD_B, IN_B, IN_B + carry);
  };
  return {
    /** Start two files: all four lanes at MD5's initial value. */
    start() {
      for (const lane of [0, 1, 2, 3]) reset(lane);
      carry = inBlock = length = 0;
    },
    /** Where the next bytes of A and of B go (at most CAP each, the same count): read into them, then `update(n)`. */
    spaces(): [Uint8Array, Uint8Array] {
      return [heap.subarray(IN_A + carry, IN_A + carry + CAP), heap.subarray(IN_B + carry, IN_B + carry + CAP)];
    },
    /** Hash n bytes put in each of `spaces()`; a block must end (`endBlock`) before the block size is passed. */
    update(n: number) {
      if (inBlock + n > blockSize) throw new Error('an MD5 block runs past the block size');
      const have = carry + n;
      const blocks = Math.floor(have / 64);
      kernel(STATE, IN_A, IN_B, IN_A + 64 * blocks);
      carry = have - 64 * blocks;
      heap.copyWithin(IN_A, IN_A + 64 * blocks, IN_A + have);
      heap.copyWithin(IN_B, IN_B + 64 * blocks, IN_B + have);
      inBlock += n;
      length += n;
    },
    /** The MD5s of A's and B's block just given (blockSize bytes, or the files' last, zero-padded); the next block starts. */
    endBlock(): [Uint8Array, Uint8Array] {
      // Lanes 1 and 3 are closed on a copy of the state, so lanes 0 and 2 (the files) go on untouched.
      toTmp();
      let full = Math.floor(inBlock / 64);
      if (carry) {
        heap.fill(0, PAD_A + carry, PAD_A + 64);
        heap.fill(0, PAD_B + carry, PAD_B + 64);
        kernel(TMP, PAD_A, PAD_B, PAD_A + 64);
        full++;
      }
      for (let left = blockSize / 64 - full; left > 0; left -= ZERO / 64) kernel(TMP, ZEROS, ZEROS, ZEROS + 64 * Math.min(ZERO / 64, left));
      const blocks = close(PAD_A, 0, blockSize);
      close(PAD_B, 0, blockSize);
      kernel(TMP, PAD_A, PAD_B, PAD_A + 64 * blocks);
      reset(1);
      reset(3);
      inBlock = 0;
      return [digest(TMP, 1), digest(TMP, 3)];
    },
    /** The MD5s of the whole files A and B (after their last `endBlock`, or with the last block still open). */
    endFile(): [Uint8Array, Uint8Array] {
      toTmp();
      const blocks = close(PAD_A, carry, length);
      close(PAD_B, carry, length);
      kernel(TMP, PAD_A, PAD_B, PAD_A + 64 * blocks);
      return [digest(TMP, 0), digest(TMP, 2)];
    },
  };
}

/**
 * The WebAssembly module: imports memory e.m, exports md5x4(state, a, b, end): MD5's compression
 * function (RFC 1321) over the 64-byte blocks in [a, end) and the same number at b, for the four
 * chains whose state is at `state` (a, b, c, d at + 16k, one i32 lane per chain). The message words
 * of a block are loaded four at a time from A and from B and shuffled into [A, A, B, B] vectors once
 * per block; each step adds its K as a constant vector.
 * Measured alone on one core, in the same process (two 256 MiB parts in blocks of 44,739,264 bytes,
 * fed 128 KiB at a time, load 2.4-3 from other work on the VM): 0.61-0.65 GiB/s of part data for both
 * hashes, against 0.31-0.42 GiB/s for md5x.ts's scalar two-chain kernel over the same parts one after
 * the other (1.5-2.1×, six runs).
 */
export function md5x4Wasm(): Uint8Array<ArrayBuffer> {
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const tee = (i: number) => [0x22, i];
  const i32 = (n: number) => [0x41, ...sleb(n | 0)];
  const simd = (op: number, ...rest: number[]) => [0xfd, ...leb(op), ...rest];
  const [add, shl, shrU, and, or, xor, not, bitselect] = [simd(174), simd(171), simd(173), simd(78), simd(80), simd(81), simd(77), simd(82)];
  const load = (at: number) => simd(0, 4, ...leb(at)); // v128.load align 16
  const store = (at: number) => simd(11, 4, ...leb(at));
  const u32x4 = (n: number) => simd(12, ...[0, 1, 2, 3].flatMap(() => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24]));
  const [STATE, A, B, END] = [0, 1, 2, 3];
  // Locals (v128): the chains' a, b, c, d, the 16 message vectors M[g] = [A_g, A_g, B_g, B_g], two temporaries.
  const reg = (k: number) => 4 + k;
  const M = (g: number) => 8 + g;
  const [T, U] = [24, 25];
  const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32));
  const S = [[7, 12, 17, 22], [5, 9, 14, 20], [4, 11, 16, 23], [6, 10, 15, 21]];
  const message: number[] = [];
  for (let q = 0; q < 4; q++) {
    message.push(...get(A), ...simd(0, 0, ...leb(16 * q)), ...set(T), ...get(B), ...simd(0, 0, ...leb(16 * q)), ...set(U));
    for (let k = 0; k < 4; k++) {
      const word = (base: number) => [0, 1, 2, 3].map((x) => base + 4 * k + x);
      message.push(...get(T), ...get(U), ...simd(13, ...word(0), ...word(0), ...word(16), ...word(16)), ...set(M(4 * q + k)));
    }
  }
  const steps: number[] = [];
  const roles = [0, 1, 2, 3]; // which register holds a, b, c, d at this step
  for (let i = 0; i < 64; i++) {
    const round = i >> 4;
    const g = [i, (5 * i + 1) % 16, (3 * i + 5) % 16, (7 * i) % 16][round]!;
    const s = S[round]![i % 4]!;
    const [a, b, c, d] = roles.map(reg) as [number, number, number, number];
    const f = [
      [...get(c), ...get(d), ...get(b), ...bitselect], // (b & c) | (~b & d)
      [...get(b), ...get(c), ...get(d), ...bitselect], // (d & b) | (~d & c)
      [...get(b), ...get(c), ...xor, ...get(d), ...xor],
      [...get(c), ...get(b), ...get(d), ...not, ...or, ...xor], // c ^ (b | ~d)
    ][round]!;
    steps.push(...get(a), ...get(M(g)), ...add, ...u32x4(K[i]!), ...add, ...f, ...add, ...tee(T));
    steps.push(...i32(s), ...shl, ...get(T), ...i32(32 - s), ...shrU, ...or, ...get(b), ...add, ...set(a));
    roles.unshift(roles.pop()!); // (a, b, c, d) ← (d, a, b, c)
  }
  // The state stays in memory as the block's start value: each block loads it, runs, adds and stores.
  const body = [
    1, 22, 0x7b, // locals: a, b, c, d, M[0..15], two temporaries (v128)
    0x02, 0x40, 0x03, 0x40,
    ...get(A), ...get(END), 0x46, 0x0d, 1, // no blocks left: leave
    ...[0, 1, 2, 3].flatMap((k) => [...get(STATE), ...load(16 * k), ...set(reg(k))]),
    ...message,
    ...steps,
    ...[0, 1, 2, 3].flatMap((k) => [...get(STATE), ...get(reg(k)), ...get(STATE), ...load(16 * k), ...add, ...store(16 * k)]),
    ...get(A), ...i32(64), 0x6a, ...set(A),
    ...get(B), ...i32(64), 0x6a, ...set(B),
    0x0c, 0, 0x0b, 0x0b,
    0x0b,
  ];
  const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
    ...section(2, [1, ...name('e'), ...name('m'), 0x02, 0, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('md5x4'), 0, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}
