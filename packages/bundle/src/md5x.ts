/**
 * Both MD5s PAR2 needs of a part in one pass (docs/transfer.md "How airgap writes PAR2"): the MD5 of the
 * whole file and the MD5 of each block (zero-padded to the block size) read the same bytes in the same
 * 64-byte steps when the block size is a multiple of 64 (recovery.ts plans it so). So a small
 * WebAssembly kernel runs two MD5 chains on the same message words, "lane" 0 for the file and lane 1
 * for the current block; a block's end closes lane 1 on a copy of the state, and lane 1 starts again.
 * Measured alone on one core: about 0.42 GiB/s for both hashes (0.31-0.45 with another engineer's load on
 * the VM), against 0.28 GiB/s for node:crypto's (OpenSSL's) MD5 run twice over the same bytes. Used for
 * a part without a partner of the same size (the short last one); pairs of parts go to md5x4.ts's
 * four-lane kernel, driven by the same `makeMd5Lanes`.
 *
 * `makeMd5Lanes` is self-contained (no imports, no outer names): the recovery worker runs it from its
 * source text (recovery-worker.ts). The module is assembled here byte by byte (no toolchain).
 */
import { leb, sleb, wasmModule } from './wasm-bytes.js';

/**
 * One file's MD5s with md5PairWasm's kernel (`files` 1), or two files' of the same size at once with
 * md5x4.ts's four-lane kernel (`files` 2). File f's chains are lanes 2f (the file) and 2f + 1 (the
 * current block): both kernels keep a, b, c, d at 16k with lane i at + 4i.
 */
export function makeMd5Lanes(wasm: Uint8Array, blockSize: number, files: 1 | 2) {
  if (blockSize % 64 !== 0) throw new Error(`the PAR2 block size ${blockSize} is not a multiple of 64`);
  // Memory: the state at 0, a scratch state at 64, room to swap a state at 128, padding for file f at
  // 256 + 128f (two message blocks each), zeros at 4096 (ZERO bytes), then file f's input at IN[f]: a
  // carry of < 64 bytes, then CAP bytes.
  const [STATE, TMP, SWAP, ZEROS, ZERO, CAP] = [0, 64, 128, 4096, 1 << 16, 1 << 20];
  const F = Array.from({ length: files }, (_, f) => f);
  const PAD = F.map((f) => 256 + 128 * f);
  const IN = F.map((f) => ZEROS + ZERO + f * (64 + CAP));
  const mem = new WebAssembly.Memory({ initial: Math.ceil((ZEROS + ZERO + files * (64 + CAP)) / 65536) });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource), { e: { m: mem } }).exports;
  const heap = new Uint8Array(mem.buffer);
  /** Runs the 64-byte blocks [at[0], end) of file 0 and as many at at[1] (two files) on the state at `state`. */
  let run: (state: number, at: number[], end: number) => void;
  if (files === 2) {
    const md5x4 = exports.md5x4 as (state: number, a: number, b: number, end: number) => void;
    run = (state, at, end) => md5x4(state, at[0]!, at[1]!, end);
  } else {
    // The scalar kernel works on the state at 0 (fewer values for it to keep in registers): another is swapped in.
    const md5 = exports.md5 as (data: number, end: number) => void;
    const swap = (at: number) => {
      heap.copyWithin(SWAP, at, at + 64);
      heap.copyWithin(at, STATE, STATE + 64);
      heap.copyWithin(STATE, SWAP, SWAP + 64);
    };
    run = (state, at, end) => {
      if (state !== STATE) swap(state);
      md5(at[0]!, end);
      if (state !== STATE) swap(state);
    };
  }
  const words = new Uint32Array(mem.buffer, 0, 32);
  const IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  let carry = 0; // the same for every file: they are given the same counts
  let inBlock = 0; // bytes of the current block given so far
  let length = 0; // bytes of each file given so far
  const reset = (lane: number) => IV.forEach((v, k) => (words[4 * k + lane] = v));
  const digest = (at: number, lane: number) => {
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    for (let k = 0; k < 4; k++) view.setUint32(4 * k, words[at / 4 + 4 * k + lane]!, true);
    return out;
  };
  /** MD5's closing block(s) after `tail` bytes already at each PAD: 0x80, zeros, the bit length; returns the block count. */
  const close = (tail: number, bytes: number) => {
    const blocks = tail < 56 ? 1 : 2;
    for (const pad of PAD) {
      heap.fill(0, pad + tail, pad + 64 * blocks);
      heap[pad + tail] = 0x80;
      const bits = new DataView(mem.buffer, pad + 64 * blocks - 8, 8);
      bits.setUint32(0, (bytes * 8) >>> 0, true);
      bits.setUint32(4, Math.floor((bytes * 8) / 2 ** 32), true);
    }
    return blocks;
  };
  /** The state to TMP, each file's carry (the bytes after its last whole 64) to its PAD. */
  const toTmp = () => {
    heap.copyWithin(TMP, STATE, STATE + 64);
    F.forEach((f) => heap.copyWithin(PAD[f]!, IN[f]!, IN[f]! + carry));
  };
  return {
    /** Start the file(s): every lane at MD5's initial value. */
    start() {
      for (let lane = 0; lane < 2 * files; lane++) reset(lane);
      carry = inBlock = length = 0;
    },
    /** Where each file's next bytes go (at most CAP, the same count for each): read into them, then `update(n)`. */
    spaces(): Uint8Array[] {
      return IN.map((at) => heap.subarray(at + carry, at + carry + CAP));
    },
    /** Hash n bytes put in each of `spaces()`; a block must end (`endBlock`) before the block size is passed. */
    update(n: number) {
      if (inBlock + n > blockSize) throw new Error('an MD5 block runs past the block size');
      const have = carry + n;
      const blocks = Math.floor(have / 64);
      run(STATE, IN, IN[0]! + 64 * blocks);
      carry = have - 64 * blocks;
      for (const at of IN) heap.copyWithin(at, at + 64 * blocks, at + have);
      inBlock += n;
      length += n;
    },
    /** Each file's MD5 of the block just given (exactly blockSize bytes, or the file's last, zero-padded); the next block starts. */
    endBlock(): Uint8Array[] {
      // The block lanes are closed on a copy of the state, so the file lanes go on untouched.
      toTmp();
      let full = Math.floor(inBlock / 64);
      if (carry) {
        for (const pad of PAD) heap.fill(0, pad + carry, pad + 64);
        run(TMP, PAD, PAD[0]! + 64);
        full++;
      }
      const zeros = F.map(() => ZEROS);
      for (let left = blockSize / 64 - full; left > 0; left -= ZERO / 64) run(TMP, zeros, ZEROS + 64 * Math.min(ZERO / 64, left));
      run(TMP, PAD, PAD[0]! + 64 * close(0, blockSize));
      for (const f of F) reset(2 * f + 1);
      inBlock = 0;
      return F.map((f) => digest(TMP, 2 * f + 1));
    },
    /** Each file's MD5 (after its last `endBlock`, or with the last block still open). */
    endFile(): Uint8Array[] {
      toTmp();
      run(TMP, PAD, PAD[0]! + 64 * close(carry, length));
      return F.map((f) => digest(TMP, 2 * f));
    },
  };
}

/**
 * MD5's 64 steps (RFC 1321), for both kernels (md5x4.ts too): the round, the message word g, the
 * constant K, the rotation s, and which of the four registers holds a, b, c, d (they rotate each step).
 */
export function md5Steps(): { round: number; g: number; k: number; s: number; roles: number[] }[] {
  const S = [[7, 12, 17, 22], [5, 9, 14, 20], [4, 11, 16, 23], [6, 10, 15, 21]];
  const roles = [0, 1, 2, 3];
  return Array.from({ length: 64 }, (_, i) => {
    const round = i >> 4;
    const step = { round, g: [i, (5 * i + 1) % 16, (3 * i + 5) % 16, (7 * i) % 16][round]!, k: Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32), s: S[round]![i % 4]!, roles: [...roles] };
    roles.unshift(roles.pop()!); // (a, b, c, d) ← (d, a, b, c)
    return step;
  });
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
  const steps: number[] = [];
  for (const { round, g, k, s, roles } of md5Steps()) {
    for (const lane of [0, 1]) {
      const [a, b, c, d] = roles.map((r) => reg(lane, r));
      const f = [
        [...get(d!), ...get(b!), ...get(c!), ...get(d!), xor, and, xor], // d ^ (b & (c ^ d))
        [...get(c!), ...get(d!), ...get(b!), ...get(c!), xor, and, xor], // c ^ (d & (b ^ c))
        [...get(b!), ...get(c!), xor, ...get(d!), xor],
        [...get(c!), ...get(b!), ...get(d!), ...i32(-1), xor, or, xor], // c ^ (b | ~d)
      ][round]!;
      // M[g] + K[i] is loaded and added once, for both chains.
      const mk = lane === 0 ? [...get(DATA), 0x28, 2, ...leb(4 * g), ...i32(k), add, 0x22, MK] : get(MK);
      steps.push(...get(a!), ...mk, add, ...f, add, ...i32(s), rotl, ...get(b!), add, ...set(a!));
    }
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
  return wasmModule('md5', 2, body);
}
