/**
 * LEB128, the integer encoding of the WebAssembly binary format, for the kernels airgap assembles byte
 * by byte (gf16.ts; docs/transfer.md "How airgap writes PAR2").
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
