/**
 * The MD5s PAR2 needs of two parts of the same size at once (docs/transfer.md "How airgap writes PAR2"):
 * four MD5 chains in the four i32 lanes of WebAssembly SIMD vectors, lane 0 part A's whole-file MD5,
 * lane 1 A's current block, lane 2 part B's file, lane 3 B's block. Two full parts have the same size
 * and the same block boundaries, so all four chains take a 64-byte step at the same offset, lanes 0 and
 * 1 on A's message words, 2 and 3 on B's. A block's end closes lanes 1 and 3 on a copy of the state, as
 * md5x.ts does for one part (md5x.ts's makeMd5Lanes drives both kernels). Parts without a partner of
 * the same size (the short last one) use md5x.ts's scalar kernel:
 * SIMD lanes over one part's two chains were slower than its scalar kernel (a vector rotate is a shift,
 * a shift and an or, where a scalar one is one instruction), over two parts they win.
 * Measured alone on one core, in the same process: see md5x4Wasm's comment (docs/transfer.md has the
 * whole-pack figure).
 * The module is assembled here byte by byte (no toolchain).
 */
import { md5Steps } from './md5x.js';
import { leb, sleb, wasmModule } from './wasm-bytes.js';

/**
 * The WebAssembly module: imports memory e.m, exports md5x4(state, a, b, end): MD5's compression
 * function (RFC 1321) over the 64-byte blocks in [a, end) and the same number at b, for the four
 * chains whose state is at `state` (a, b, c, d at + 16k, one i32 lane per chain). The message words
 * of a block are loaded four at a time from A and from B and shuffled into [A, A, B, B] vectors once
 * per block; each step adds its K as a constant vector.
 * Measured alone on one core, in the same process (two 256 MiB parts in blocks of 44,739,264 bytes,
 * fed 128 KiB at a time, load 1.3-3 from other work on the VM): 0.54-0.65 GiB/s of part data for both
 * hashes, against 0.31-0.45 GiB/s for md5x.ts's scalar two-chain kernel over the same parts one after
 * the other (1.4-2.1×, twelve runs).
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
  const message: number[] = [];
  for (let q = 0; q < 4; q++) {
    message.push(...get(A), ...simd(0, 0, ...leb(16 * q)), ...set(T), ...get(B), ...simd(0, 0, ...leb(16 * q)), ...set(U));
    for (let k = 0; k < 4; k++) {
      const word = (base: number) => [0, 1, 2, 3].map((x) => base + 4 * k + x);
      message.push(...get(T), ...get(U), ...simd(13, ...word(0), ...word(0), ...word(16), ...word(16)), ...set(M(4 * q + k)));
    }
  }
  const steps: number[] = [];
  for (const { round, g, k, s, roles } of md5Steps()) {
    const [a, b, c, d] = roles.map(reg) as [number, number, number, number];
    const f = [
      [...get(c), ...get(d), ...get(b), ...bitselect], // (b & c) | (~b & d)
      [...get(b), ...get(c), ...get(d), ...bitselect], // (d & b) | (~d & c)
      [...get(b), ...get(c), ...xor, ...get(d), ...xor],
      [...get(c), ...get(b), ...get(d), ...not, ...or, ...xor], // c ^ (b | ~d)
    ][round]!;
    steps.push(...get(a), ...get(M(g)), ...add, ...u32x4(k), ...add, ...f, ...add, ...tee(T));
    steps.push(...i32(s), ...shl, ...get(T), ...i32(32 - s), ...shrU, ...or, ...get(b), ...add, ...set(a));
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
  return wasmModule('md5x4', 4, body);
}
