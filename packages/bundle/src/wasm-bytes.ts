/**
 * LEB128, the integer encoding of the WebAssembly binary format, and the one-function module around a
 * kernel, for the kernels airgap assembles byte by byte (gf16.ts, md5x.ts, md5x4.ts; docs/transfer.md
 * "How airgap writes PAR2").
 */

/** Unsigned LEB128 (sizes, indices, memory offsets). */
export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** Signed LEB128 (i32.const). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

/**
 * A module of one function: imports memory e.m, exports `name` taking `params` i32 and returning
 * nothing; `body` is its code entry's content (locals, then instructions, then end).
 */
export function wasmModule(name: string, params: number, body: number[]): Uint8Array<ArrayBuffer> {
  const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
  const text = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, params, ...Array<number>(params).fill(0x7f), 0]),
    ...section(2, [1, ...text('e'), ...text('m'), 0x02, 0, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...text(name), 0, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}
