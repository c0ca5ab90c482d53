/**
 * airgap's own PAR2 writer (docs/transfer.md "How airgap writes PAR2") against par2cmdline, the tool it
 * replaced on the create path: the GF(2^16) arithmetic and its WebAssembly kernel against the field's
 * definition, then the same parts given to both writers with the same block size, count and volumes must
 * give the same recovery set: identical main packet (file IDs, sorted), file descriptions, block checksums
 * and recovery slices, byte for byte. Only the packet order, the creator and the copies differ.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { GF16_CHUNK, createRecovery, gf16Wasm, makeGf16, partName, startRecovery } from '@airgap/bundle';
import { tempDir } from '../harness/index.js';

const gf = makeGf16();

/** Multiplication by shift-and-add with the PAR2 generator 0x1100B: the definition, not the tables. */
function slowMul(a: number, b: number): number {
  let r = 0;
  for (; b; b >>= 1) {
    if (b & 1) r ^= a;
    a <<= 1;
    if (a & 0x10000) a ^= 0x1100b;
  }
  return r;
}

describe('GF(2^16) of PAR2', () => {
  it('log/exp multiplication equals shift-and-add over the generator 0x1100B, and 2 generates the whole group', () => {
    const seen = new Set(gf.exp.subarray(0, 65535));
    expect(seen.size).toBe(65535);
    for (let i = 0; i < 5000; i++) {
      const a = (i * 40503) & 0xffff;
      const b = (i * 2654435761) >>> 16;
      expect(gf.mul(a, b)).toBe(slowMul(a, b));
    }
    expect(gf.mul(0x8000, 2)).toBe(0x100b);
    expect(gf.pow(gf.exp[7]!, 3)).toBe(gf.mul(gf.exp[7]!, gf.mul(gf.exp[7]!, gf.exp[7]!)));
  });

  it('input constants are 2^n for the n prime to 65535 (n mod 3, 5, 17, 257 ≠ 0)', () => {
    expect(gf.inputLogs(12)).toEqual([1, 2, 4, 7, 8, 11, 13, 14, 16, 19, 22, 23]);
    expect(gf.inputLogs(32768).every((n) => n % 3 && n % 5 && n % 17 && n % 257)).toBe(true);
  });

  it('the WebAssembly kernel adds c_e·src to each of count destinations word by word (16-bit little-endian), as the scalar field does', () => {
    // More than two of its chunks and not a multiple of one, so the last chunk is short.
    const n = 2 * GF16_CHUNK + 96;
    const constants = [1, 2, 0x100b, 0xffff, gf.exp[12345]!];
    const [SRC, DST, TAB] = [0, n, (constants.length + 1) * n];
    const SCR = TAB + 128 * constants.length;
    const mem = new WebAssembly.Memory({ initial: Math.ceil((SCR + 2 * GF16_CHUNK) / 65536) });
    const muls = new WebAssembly.Instance(new WebAssembly.Module(gf16Wasm()), { e: { m: mem } }).exports.muls as (s: number, d: number, n: number, t: number, count: number, stride: number, scratch: number) => void;
    const heap = new Uint8Array(mem.buffer);
    heap.set(randomBytes(SRC + DST + constants.length * n), 0);
    const src = new Uint16Array(mem.buffer, SRC, n / 2);
    const dst = (e: number) => new Uint16Array(mem.buffer, DST + e * n, n / 2);
    const expected = (c: number, e: number) => Array.from(dst(e), (d, j) => d ^ slowMul(c, src[j]!));
    // One destination at a time, then all of them in one call (the source split once).
    for (const c of constants) {
      const want = expected(c, 0);
      gf.tables(c, heap, TAB);
      muls(SRC, DST, n, TAB, 1, n, SCR);
      expect(Array.from(dst(0))).toEqual(want);
    }
    const want = constants.map((c, e) => expected(c, e));
    constants.forEach((c, e) => gf.tables(c, heap, TAB + 128 * e));
    muls(SRC, DST, n, TAB, constants.length, n, SCR);
    constants.forEach((_, e) => expect(Array.from(dst(e))).toEqual(want[e]));
  });
});

interface Packet {
  type: string;
  body: Buffer;
}

function packets(file: Buffer): Packet[] {
  const out: Packet[] = [];
  for (let p = 0; p < file.length; ) {
    expect(file.subarray(p, p + 8).toString('latin1')).toBe('PAR2\0PKT');
    const len = Number(file.readBigUInt64LE(p + 8));
    const body = file.subarray(p + 64, p + len);
    // The packet MD5 covers the recovery set ID, the type and the body.
    expect(createHash('md5').update(file.subarray(p + 32, p + len)).digest().equals(file.subarray(p + 16, p + 32))).toBe(true);
    out.push({ type: file.subarray(p + 48, p + 64).toString('latin1').replace(/\0+$/, ''), body });
    p += len;
  }
  return out;
}

/** Every distinct packet of a set, keyed by type and (for slices) exponent, (for per-file packets) file ID. */
async function recoverySet(dir: string): Promise<Map<string, string>> {
  const set = new Map<string, string>();
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.par2'))) {
    for (const p of packets(await readFile(join(dir, f)))) {
      if (p.type.endsWith('Creator')) continue;
      const key = p.type.endsWith('Main') ? p.type : `${p.type} ${p.body.subarray(0, p.type.endsWith('RecvSlic') ? 4 : 16).toString('hex')}`;
      set.set(key, createHash('sha256').update(p.body).digest('hex'));
    }
  }
  return set;
}

// Pack reads each part's first 16 KiB ahead (tar-plan.ts) so the Reed–Solomon passes follow the parts;
// heads that prove wrong must not be trusted (one fresh pass instead), and without them one pass at the end.
const modes = [
  { what: 'parts already written (split)', heads: undefined },
  { what: 'heads read ahead, followed part by part (pack)', heads: 'right' },
  { what: 'heads read ahead that prove wrong: not trusted', heads: 'wrong' },
] as const;

describe('airgap PAR2 writer vs par2cmdline on the same parts', () => {
  for (const mode of modes) it(`11 parts at 10%, ${mode.what}: the same main packet, file descriptions, checksums and recovery slices, byte for byte`, async () => {
    const dir = await tempDir('airgap-par2-writer-');
    const sizes = [...Array(10).fill(300_000), 77_777];
    const parts = [];
    for (const [i, size] of sizes.entries()) {
      const bytes = randomBytes(size);
      await writeFile(join(dir, partName(i + 1)), bytes);
      parts.push({ file: partName(i + 1), size, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
    const peer = join(dir, 'peer');
    await mkdir(peer);
    for (const p of parts) await writeFile(join(peer, p.file), await readFile(join(dir, p.file)));
    let info;
    if (mode.heads === undefined) info = await createRecovery(dir, parts, 300_000, 10);
    else {
      const md5 = async (p: { file: string; size: number }) => createHash('md5').update((await readFile(join(dir, p.file))).subarray(0, 16384)).digest();
      const heads = mode.heads === 'right' ? await Promise.all(parts.map(md5)) : parts.map(() => Buffer.alloc(16));
      const run = startRecovery(dir, sizes, 300_000, 10, Promise.resolve(heads));
      for (const p of parts) run.written(p.size); // part by part, as the part writer acknowledges them
      info = await run.finish(parts);
    }
    const volumes = info.files.filter((f) => f.blocks > 0).length;
    const r = await execa('par2', ['create', '-q', '-q', `-s${info.blockSize}`, `-c${info.recoveryBlocks}`, `-n${volumes}`, '-u', 'bundle.par2', '--', ...parts.map((p) => p.file)], { cwd: peer, reject: false });
    expect(r.exitCode, r.stdout).toBe(0);
    const ours = await recoverySet(dir);
    const theirs = await recoverySet(peer);
    expect([...ours.keys()].filter((k) => k.includes('RecvSlic')).length).toBe(info.recoveryBlocks);
    expect([...ours.keys()].filter((k) => k.includes('FileDesc')).length).toBe(parts.length);
    expect(ours).toEqual(theirs);
    // And the independent tool accepts ours.
    const v = await execa('par2', ['verify', '-q', 'bundle.par2'], { cwd: dir, reject: false });
    expect(v.exitCode, v.stdout).toBe(0);
  });
});
