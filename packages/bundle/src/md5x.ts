/**
 * Both MD5s PAR2 needs of a part in one pass (docs/transfer.md "How airgap writes PAR2"): the MD5 of the
 * whole file and the MD5 of each block (zero-padded to the block size) read the same bytes in the same
 * 64-byte steps when the block size is a multiple of 64 (recovery.ts plans it so). So a small
 * WebAssembly kernel runs two MD5 chains on the same message words, "lane" 0 for the file and lane 1
 * for the current block; a block's end closes lane 1 on a copy of the state, and lane 1 starts again.
 * Measured alone on one core: about 0.42 GiB/s for both hashes (0.31-0.42 with another engineer's load on
 * the VM), against 0.28 GiB/s for node:crypto's (OpenSSL's) MD5 run twice over the same bytes. Used for
 * a part without a partner of the same size (the short last one); pairs of parts go to md5x4.ts.
 *
 * `makeMd5Pair` is self-contained (no imports, no outer names): the recovery worker runs it from its
 * source text (recovery-worker.ts). The module is assembled here byte by byte (no toolchain).
 */
import { leb, sleb } from './wasm-bytes.js';

export function makeMd5Pair(wasm: Uint8Array, blockSize: number) {
  if (blockSize % 64 !== 0) throw new Error(`the PAR2 block size ${blockSize} is not a multiple of 64`);
  // Memory: the state (a, b, c, d, lane 0 then lane 1 of each in 16 bytes) at 0, a scratch state at 64,
  // padding at 128 (two message blocks), room to swap a state at 256, zeros at 4096 (ZERO bytes), and
  // the input at IN: a carry of < 64 bytes, then CAP bytes.
  const [STATE, TMP, PAD, SWAP, ZEROS, ZERO, IN, CAP] = [0, 64, 128, 256, 4096, 1 << 16, (1 << 16) + 4096, 1 << 20];
  const mem = new WebAssembly.Memory({ initial: Math.ceil((IN + 64 + CAP) / 65536) });
  const kernel = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource), { e: { m: mem } }).exports.md5 as (data: number, end: number) => void;
  const heap = new Uint8Array(mem.buffer);
  const swap = (at: number) => {
    heap.copyWithin(SWAP, at, at + 64);
    heap.copyWithin(at, STATE, STATE + 64);
    heap.copyWithin(STATE, SWAP, SWAP + 64);
  };
  /** The kernel works on the state at 0 (fewer values for it to keep in registers): another is swapped in. */
  const run = (state: number, data: number, blocks: number) => {
    if (state !== STATE) swap(state);
    kernel(data, data + 64 * blocks);
    if (state !== STATE) swap(state);
  };
  const words = new Uint32Array(mem.buffer, 0, 32);
  const IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  let carry = 0;
  let inBlock = 0; // bytes of the current block given so far
  let length = 0; // bytes of the file given so far
  const reset = (lane: number) => IV.forEach((v, k) => (words[4 * k + lane] = v));
  const digest = (at: number, lane: number) => {
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    for (let k = 0; k < 4; k++) view.setUint32(4 * k, words[at / 4 + 4 * k + lane]!, true);
    return out;
  };
  /** MD5's closing block(s) after `tail` bytes already at PAD: 0x80, zeros, the bit length; returns the block count. */
  const close = (tail: number, bytes: number) => {
    const blocks = tail < 56 ? 1 : 2;
    heap.fill(0, PAD + tail, PAD + 64 * blocks);
    heap[PAD + tail] = 0x80;
    const bits = new DataView(mem.buffer, PAD + 64 * blocks - 8, 8);
    bits.setUint32(0, (bytes * 8) >>> 0, true);
    bits.setUint32(4, Math.floor((bytes * 8) / 2 ** 32), true);
    return blocks;
  };
  const zeros = (blocks: number, state: number) => {
    for (let n = 0; n < blocks; n += ZERO / 64) run(state, ZEROS, Math.min(ZERO / 64, blocks - n));
  };
  /** The current block's digest: its bytes so far, zero-padded to the block size; `tail` bytes of it are at PAD. */
  const blockDigest = (tail: number, state: number) => {
    let full = Math.floor(inBlock / 64);
    if (tail) {
      heap.fill(0, PAD + tail, PAD + 64);
      run(state, PAD, 1);
      full++;
    }
    zeros(blockSize / 64 - full, state);
    run(state, PAD, close(0, blockSize));
    return digest(state, 1);
  };
  return {
    /** Start a file: both lanes at MD5's initial value. */
    start() {
      reset(0);
      reset(1);
      carry = inBlock = length = 0;
    },
    /** Where the next bytes go (at most CAP): read into it, then `update(n)`. */
    space(): Uint8Array {
      return heap.subarray(IN + carry, IN + carry + CAP);
    },
    /** Hash n bytes put in `space()`; a block must end (`endBlock`) before the block size is passed. */
    update(n: number) {
      if (inBlock + n > blockSize) throw new Error('an MD5 block runs past the block size');
      const have = carry + n;
      const blocks = Math.floor(have / 64);
      run(STATE, IN, blocks);
      carry = have - 64 * blocks;
      heap.copyWithin(IN, IN + 64 * blocks, IN + have);
      inBlock += n;
      length += n;
    },
    /** The MD5 of the block just given (exactly blockSize bytes, or the file's last, zero-padded); the next block starts. */
    endBlock(): Uint8Array {
      // Lane 1 is closed on a copy of the state, so lane 0 (the file) goes on untouched.
      heap.copyWithin(TMP, STATE, STATE + 64);
      heap.copyWithin(PAD, IN, IN + carry);
      const out = blockDigest(carry, TMP);
      reset(1);
      inBlock = 0;
      return out;
    },
    /** The MD5 of the whole file (after its last `endBlock`, or with the last block still open). */
    endFile(): Uint8Array {
      heap.copyWithin(TMP, STATE, STATE + 64);
      heap.copyWithin(PAD, IN, IN + carry);
      run(TMP, PAD, close(carry, length));
      return digest(TMP, 0);
    },
  };
}

/**
 * The WebAssembly module: imports memory e.m, exports md5(data, end): MD5's compression function
 * (RFC 1321) over the 64-byte blocks in [data, end), for two states at once, the same message words
 * going into both. The state is a, b, c, d at address 16k, lane 0 at + 0 and lane 1 at + 4.
 * Scalar code, the two chains interleaved step by step: an MD5 step waits on the one before, so one
 * chain leaves most of the core idle and the second fills it. Measured against the alternatives: the
 * same in SIMD lanes (a vector rotate is three dependent instructions where a scalar one is one) did
 * 0.30 GiB/s for both hashes. Two full parts at once go to md5x4.ts's four SIMD lanes instead (about
 * 0.62 GiB/s); this kernel hashes the parts without a partner of the same size.
 */
export function md5PairWasm(): Uint8Array<ArrayBuffer> {
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const i32 = (n: number) => [0x41, ...sleb(n | 0)];
  const [add, and, or, xor, rotl] = [0x6a, 0x71, 0x72, 0x73, 0x77];
  const [DATA, END, MK] = [0, 1, 10];
  // Locals: chain L's a, b, c, d at 2 + 4L …, then M[g] + K[i] of the step. The state is at address 0.
  const reg = (lane: number, k: number) => 2 + 4 * lane + k;
  const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32));
  const S = [[7, 12, 17, 22], [5, 9, 14, 20], [4, 11, 16, 23], [6, 10, 15, 21]];
  const steps: number[] = [];
  const roles = [0, 1, 2, 3]; // which register holds a, b, c, d at this step
  for (let i = 0; i < 64; i++) {
    const round = i >> 4;
    const g = [i, (5 * i + 1) % 16, (3 * i + 5) % 16, (7 * i) % 16][round]!;
    const s = S[round]![i % 4]!;
    for (const lane of [0, 1]) {
      const [a, b, c, d] = roles.map((r) => reg(lane, r));
      const f = [
        [...get(d!), ...get(b!), ...get(c!), ...get(d!), xor, and, xor], // d ^ (b & (c ^ d))
        [...get(c!), ...get(d!), ...get(b!), ...get(c!), xor, and, xor], // c ^ (d & (b ^ c))
        [...get(b!), ...get(c!), xor, ...get(d!), xor],
        [...get(c!), ...get(b!), ...get(d!), ...i32(-1), xor, or, xor], // c ^ (b | ~d)
      ][round]!;
      // M[g] + K[i] is loaded and added once, for both chains.
      const mk = lane === 0 ? [...get(DATA), 0x28, 2, ...leb(4 * g), ...i32(K[i]!), add, 0x22, MK] : get(MK);
      steps.push(...get(a!), ...mk, add, ...f, add, ...i32(s), rotl, ...get(b!), add, ...set(a!));
    }
    roles.unshift(roles.pop()!); // (a, b, c, d) ← (d, a, b, c)
  }
  const all = [0, 1].flatMap((lane) => [0, 1, 2, 3].map((k) => ({ r: reg(lane, k), at: 16 * k + 4 * lane })));
  // The state stays in memory as the block's start value: each block loads it, runs, adds and stores.
  const body = [
    1, 9, 0x7f, // locals: both chains' a, b, c, d, and M[g] + K[i] (i32)
    0x02, 0x40, 0x03, 0x40,
    ...get(DATA), ...get(END), 0x46, 0x0d, 1, // no blocks left: leave
    ...all.flatMap(({ r, at }) => [...i32(0), 0x28, 2, at, ...set(r)]),
    ...steps,
    ...all.flatMap(({ r, at }) => [...i32(0), ...get(r), ...i32(0), 0x28, 2, at, add, 0x36, 2, at]),
    ...get(DATA), ...i32(64), add, ...set(DATA),
    0x0c, 0, 0x0b, 0x0b,
    0x0b,
  ];
  const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 0]),
    ...section(2, [1, ...name('e'), ...name('m'), 0x02, 0, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('md5'), 0, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}
