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
import { createRecovery, gf16Wasm, makeGf16, partName } from '@airgap/bundle';
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

  it('the WebAssembly kernel adds c·src to dst word by word (16-bit little-endian), as the scalar field does', () => {
    const mem = new WebAssembly.Memory({ initial: 2 });
    const mul = new WebAssembly.Instance(new WebAssembly.Module(gf16Wasm()), { e: { m: mem } }).exports.mul as (s: number, d: number, n: number, t: number) => void;
    const heap = new Uint8Array(mem.buffer);
    const n = 4096;
    heap.set(randomBytes(2 * n), 0);
    const src = new Uint16Array(mem.buffer, 0, n / 2);
    const dst = new Uint16Array(mem.buffer, n, n / 2);
    for (const c of [1, 2, 0x100b, 0xffff, gf.exp[12345]!]) {
      const expected = Array.from(dst, (d, j) => d ^ slowMul(c, src[j]!));
      gf.tables(c, heap, 2 * n);
      mul(0, n, n, 2 * n);
      expect(Array.from(dst)).toEqual(expected);
    }
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

describe('airgap PAR2 writer vs par2cmdline on the same parts', () => {
  it('11 parts at 10%: the same main packet, file descriptions, checksums and recovery slices, byte for byte', async () => {
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
    const info = await createRecovery(dir, parts, 300_000, 10);
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
