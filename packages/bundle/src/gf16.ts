/**
 * Reed–Solomon arithmetic of PAR2 2.0 (docs/transfer.md "How airgap writes PAR2"): GF(2^16) with the
 * generator 0x1100B, 16-bit little-endian words. `makeGf16` is self-contained (no imports, no outer
 * names) because the recovery worker runs it from its source text (see recovery-worker.ts).
 *
 * Multiplying a region by a constant c is done by a small WebAssembly SIMD kernel: a 16-bit word is four
 * nibbles, and c·w = ⊕ c·(nibble_k << 4k) (multiplication distributes over ⊕), so eight 16-entry tables
 * (low and high product byte for each nibble position) and i8x16.swizzle multiply 16 words at once.
 * Measured: plain JS with a 64 Ki-entry table per constant does ~0.65 GiB/s per core, which for 10% of
 * 2 GiB (five recovery blocks, each reading all the data) is ~15 s of CPU; the kernel does several GiB/s.
 * The module is assembled here byte by byte (no toolchain).
 */
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

/**
 * The WebAssembly module: imports memory e.m, exports mul(src, dst, len, tab): dst[0..len) ⊕= c·src[0..len)
 * as 16-bit words, len a multiple of 32, tab the 128-byte table of c (from `tables`).
 */
export function gf16Wasm(): Uint8Array<ArrayBuffer> {
  const SIMD = 0xfd;
  const lanes = (f: (i: number) => number) => Array.from({ length: 16 }, (_, i) => f(i));
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const load = (off: number) => [SIMD, 0x00, 4, off];
  const store = (off: number) => [SIMD, 0x0b, 4, off];
  const shuffle = (l: number[]) => [SIMD, 0x0d, ...l];
  const swizzle = [SIMD, 0x0e];
  const and = [SIMD, 0x4e];
  const xor = [SIMD, 0x51];
  const shr4 = [0x41, 4, SIMD, 0x6d];
  const [SRC, DST, LEN, TAB, P] = [0, 1, 2, 3, 4];
  const T = (k: number) => 5 + k; // 8 table vectors
  const [MASK, A, B, N0] = [13, 14, 15, 16]; // N0..N3 = 16..19
  const addr = (base: number) => [...get(base), ...get(P), 0x6a];
  const product = (half: number) => [
    ...get(T(half)), ...get(N0), ...swizzle,
    ...get(T(2 + half)), ...get(N0 + 1), ...swizzle, ...xor,
    ...get(T(4 + half)), ...get(N0 + 2), ...swizzle, ...xor,
    ...get(T(6 + half)), ...get(N0 + 3), ...swizzle, ...xor,
  ];
  const body = [
    ...[2, 1, 0x7f, 15, 0x7b], // locals: p (i32), 15 v128
    ...lanes((i) => i).flatMap((i) => (i < 8 ? [...get(TAB), SIMD, 0x00, 4, ...leb(16 * i), ...set(T(i))] : [])),
    SIMD, 0x0c, ...lanes(() => 0x0f), ...set(MASK),
    0x02, 0x40, 0x03, 0x40,
    ...get(P), ...get(LEN), 0x4f, 0x0d, 1, // p >= len: leave
    ...addr(SRC), ...load(0), ...set(A),
    ...addr(SRC), ...load(16), ...set(B),
    ...get(A), ...get(B), ...shuffle(lanes((i) => 2 * i)), 0x22, N0 + 1, ...get(MASK), ...and, ...set(N0),
    ...get(N0 + 1), ...shr4, ...set(N0 + 1),
    ...get(A), ...get(B), ...shuffle(lanes((i) => 2 * i + 1)), 0x22, N0 + 3, ...get(MASK), ...and, ...set(N0 + 2),
    ...get(N0 + 3), ...shr4, ...set(N0 + 3),
    ...product(0), ...set(A), // low bytes of the 16 products
    ...product(1), ...set(B), // high bytes
    ...addr(DST), ...addr(DST), ...load(0), ...get(A), ...get(B), ...shuffle(lanes((i) => (i & 1 ? 16 : 0) + (i >> 1))), ...xor, ...store(0),
    ...addr(DST), ...addr(DST), ...load(16), ...get(A), ...get(B), ...shuffle(lanes((i) => (i & 1 ? 16 : 0) + 8 + (i >> 1))), ...xor, ...store(16),
    ...get(P), 0x41, 32, 0x6a, ...set(P),
    0x0c, 0, 0x0b, 0x0b, 0x0b,
  ];
  const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
    ...section(2, [1, ...name('e'), ...name('m'), 0x02, 0, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('mul'), 0, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
