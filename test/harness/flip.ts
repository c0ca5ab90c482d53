import { open } from 'node:fs/promises';

/** Damages `file` in place: XORs the byte at offset `at` with `mask` (every bit by default), as a scratched medium would. */
export async function flipByte(file: string, at: number, mask = 0xff): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] ^= mask;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}
