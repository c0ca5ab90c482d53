/**
 * Reed–Solomon arithmetic of PAR2 2.0 (docs/transfer.md "How airgap writes PAR2"): GF(2^16) with the
 * generator 0x1100B, 16-bit little-endian words. `makeGf16` is self-contained (no imports, no outer
 * names) because the recovery worker runs it from its source text (see recovery-worker.ts).
 *
 * Multiplying a region by a constant c is done by a small WebAssembly SIMD kernel: a 16-bit word is four
 * nibbles, and c·w = ⊕ c·(nibble_k << 4k) (multiplication distributes over ⊕), so eight 16-entry tables
 * (low and high product byte for each nibble position) and i8x16.swizzle multiply 16 words at once.
 * Measured: plain JS with a 64 Ki-entry table per constant does ~0.65 GiB/s per core, which for 10% of
 * 2 GiB (five recovery blocks, each reading all the data) is ~15 s of CPU; the kernel (`muls`) does about
 * 7 GiB/s of source × recovery blocks on one core.
 * The module is assembled here byte by byte (no toolchain).
 */
import { leb, sleb, wasmModule } from './wasm-bytes.js';

export function makeGf16() {
  const exp = new Uint16Array(2 * 65536);
  const log = new Uint16Array(65536);
  for (let i = 0, x = 1; i < 65535; i++) {
    exp[i] = x;
    log[x] = i;
    x <<= 1;
    if (x & 0x10000) x ^= 0x1100b;
  }
  for (let i = 65535; i < exp.length; i++) exp[i] = exp[i - 65535]!;
  const mul = (a: number, b: number) => (a === 0 || b === 0 ? 0 : exp[log[a]! + log[b]!]!);
  /** c^e for c ≠ 0. */
  const pow = (c: number, e: number) => (e === 0 ? 1 : exp[(log[c]! * e) % 65535]!);
  /**
   * PAR2's input constants as logs: block i (in the main packet's file order) gets c_i = 2^n_i, n_i the
   * i-th exponent with gcd(n, 65535) = 1 (n mod 3, 5, 17 and 257 ≠ 0).
   */
  const inputLogs = (count: number) => {
    const out: number[] = [];
    for (let n = 1; out.length < count; n++) if (n % 3 && n % 5 && n % 17 && n % 257) out.push(n);
    return out;
  };
  /** The kernel's 128-byte table for multiplying by c: for nibble position k, 16 low then 16 high product bytes. */
  const tables = (c: number, into: Uint8Array, at: number) => {
    for (let k = 0; k < 4; k++) {
      for (let v = 0; v < 16; v++) {
        const p = mul(c, v << (4 * k));
        into[at + 32 * k + v] = p & 0xff;
        into[at + 32 * k + 16 + v] = p >> 8;
      }
    }
  };
  return { exp, log, mul, pow, inputLogs, tables };
}

/** Bytes of the source split at a time (kernel `muls`); its scratch holds twice as many. */
export const GF16_CHUNK = 4096;

/**
 * The WebAssembly module: imports memory e.m, exports muls(src, dst, len, tab, count, stride, scratch):
 * for e < count, dst + e·stride [0..len) ⊕= c_e·src[0..len) as 16-bit words, len a multiple of 32, tab
 * the count 128-byte tables of c_0, c_1, … one after the other (from `tables`), scratch 2·GF16_CHUNK
 * bytes. The source is split into nibbles GF16_CHUNK bytes at a time, once, into the scratch, and each
 * destination is then added with its eight tables held in registers (docs/transfer.md "How airgap writes
 * PAR2"): one call per source block and window for all the recovery blocks, not one per recovery block.
 */
export function gf16Wasm(): Uint8Array<ArrayBuffer> {
  const SIMD = 0xfd;
  const lanes = (f: (i: number) => number) => Array.from({ length: 16 }, (_, i) => f(i));
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const tee = (i: number) => [0x22, i];
  const int = (n: number) => [0x41, ...sleb(n)];
  const load = (off: number) => [SIMD, 0x00, 4, ...leb(off)];
  const store = (off: number) => [SIMD, 0x0b, 4, ...leb(off)];
  const shuffle = (l: number[]) => [SIMD, 0x0d, ...l];
  const swizzle = [SIMD, 0x0e];
  const and = [SIMD, 0x4e];
  const xor = [SIMD, 0x51];
  const shr4 = [...int(4), SIMD, 0x6d];
  const add = [0x6a];
  const inc = (i: number, by: number[]) => [...get(i), ...by, ...add, ...set(i)];
  /** while (a < b) { body } */
  const loop = (a: number[], b: number[], body: number[]) => [0x02, 0x40, 0x03, 0x40, ...a, ...b, 0x4f, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
  const [SRC, DST, LEN, TAB, COUNT, STRIDE, SCR] = [0, 1, 2, 3, 4, 5, 6];
  const [C, CE, P, S, E, T, Q, END] = [7, 8, 9, 10, 11, 12, 13, 14];
  const [MASK, A, B] = [15, 16, 17];
  const N = (k: number) => 18 + k; // 4 nibble vectors
  const TB = (i: number) => 22 + i; // 8 table vectors
  const [L, H] = [30, 31];
  // Half 0: the low bytes of the 16 products, half 1 the high bytes; table vector 2k + half for nibble k.
  const product = (half: number) => [
    ...get(TB(half)), ...get(N(0)), ...swizzle,
    ...get(TB(2 + half)), ...get(N(1)), ...swizzle, ...xor,
    ...get(TB(4 + half)), ...get(N(2)), ...swizzle, ...xor,
    ...get(TB(6 + half)), ...get(N(3)), ...swizzle, ...xor,
  ];
  // Scratch, per 32 source bytes: low bytes' low nibbles, their high nibbles, high bytes' low, high nibbles.
  const split = loop(get(P), get(CE), [
    ...get(SRC), ...get(P), ...add, ...load(0), ...set(A),
    ...get(SRC), ...get(P), ...add, ...load(16), ...set(B),
    ...get(S), ...get(A), ...get(B), ...shuffle(lanes((i) => 2 * i)), ...tee(L), ...get(MASK), ...and, ...store(0),
    ...get(S), ...get(L), ...shr4, ...store(16),
    ...get(S), ...get(A), ...get(B), ...shuffle(lanes((i) => 2 * i + 1)), ...tee(L), ...get(MASK), ...and, ...store(32),
    ...get(S), ...get(L), ...shr4, ...store(48),
    ...inc(P, int(32)), ...inc(S, int(64)),
  ]);
  const addTo = loop(get(Q), get(END), [
    ...[0, 1, 2, 3].flatMap((k) => [...get(S), ...load(16 * k), ...set(N(k))]),
    ...product(0), ...set(L),
    ...product(1), ...set(H),
    ...get(Q), ...get(Q), ...load(0), ...get(L), ...get(H), ...shuffle(lanes((i) => (i & 1 ? 16 : 0) + (i >> 1))), ...xor, ...store(0),
    ...get(Q), ...get(Q), ...load(16), ...get(L), ...get(H), ...shuffle(lanes((i) => (i & 1 ? 16 : 0) + 8 + (i >> 1))), ...xor, ...store(16),
    ...inc(Q, int(32)), ...inc(S, int(64)),
  ]);
  const perDestination = loop(get(E), get(COUNT), [
    ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((i) => [...get(T), ...load(16 * i), ...set(TB(i))]),
    // q = dst + e·stride + c, end = q + (ce − c)
    ...get(DST), ...get(E), ...get(STRIDE), 0x6c, ...add, ...get(C), ...add, ...tee(Q), ...get(CE), ...add, ...get(C), 0x6b, ...set(END),
    ...get(SCR), ...set(S),
    ...addTo,
    ...inc(E, int(1)), ...inc(T, int(128)),
  ]);
  const body = [
    ...[2, 8, 0x7f, 17, 0x7b], // locals: c, ce, p, s, e, t, q, end (i32), 17 v128
    SIMD, 0x0c, ...lanes(() => 0x0f), ...set(MASK),
    ...loop(get(C), get(LEN), [
      // ce = min(c + chunk, len)
      ...get(C), ...int(GF16_CHUNK), ...add, ...tee(CE), ...get(LEN), ...get(CE), ...get(LEN), 0x4d, 0x1b, ...set(CE),
      ...get(C), ...set(P), ...get(SCR), ...set(S),
      ...split,
      ...int(0), ...set(E), ...get(TAB), ...set(T),
      ...perDestination,
      ...inc(C, int(GF16_CHUNK)),
    ]),
    0x0b,
  ];
  return wasmModule('muls', 7, body);
}
