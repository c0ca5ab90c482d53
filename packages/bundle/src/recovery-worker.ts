/**
 * The PAR2 writer's worker threads (docs/transfer.md "How airgap writes PAR2"), two of the same code:
 *   - both are told how many bytes of the tar stream are in the parts so far (the part writer's
 *     acknowledgements); each reads its parts (alternate ones) back from the page cache and computes the
 *     checksums PAR2 needs while the rest is still being written: per part the MD5 of the file and of its
 *     first 16 KiB, per block MD5 and CRC32 (the last block zero-padded to the block size);
 *   - Reed–Solomon (gf16.ts) needs each block's constant, which follows the order of the file IDs in the
 *     main packet (sorted), and a part's ID depends on its first 16 KiB: known for every part only when
 *     the last one has begun. Then both threads compute the recovery blocks, window by window
 *     (every block's bytes [a, a+window) into every recovery block's, taken from a shared counter, so
 *     a thread still hashing joins when it is done); memory stays at (recovery blocks + 1) × window
 *     per thread, not 10% of the bundle: the recovery data goes straight to its place in the volumes;
 *   - then each slice's packet MD5 and header, again shared.
 */
import { Worker } from 'node:worker_threads';
import { InternalError } from '@airgap/core';
import { GF16_CHUNK, gf16Wasm, makeGf16 } from './gf16.js';
import { makeMd5Lanes, md5PairWasm } from './md5x.js';
import { md5x4Wasm } from './md5x4.js';
import { type Par2FileLayout, type Par2Hashed, SLICE_HEADER } from './par2-write.js';

interface WorkerInput {
  wasm: Uint8Array<ArrayBuffer>;
  /** md5x.ts's module: a part's MD5 and its blocks' in one pass. */
  md5Wasm: Uint8Array<ArrayBuffer>;
  /** md5x4.ts's module: the same for two parts of the same size at once. */
  md5qWasm: Uint8Array<ArrayBuffer>;
  dir: string;
  blockSize: number;
  parts: { file: string; size: number }[];
  files: Par2FileLayout[];
  recoveryBlocks: number;
  sliceHeader: number;
  /** Bytes of scratch the kernel needs (gf16.ts). */
  scratch: number;
  /** This thread hashes parts id, id + threads, … */
  id: number;
  threads: number;
}

type ToWorker = { written: number } | { rs: { logs: number[]; next: SharedArrayBuffer; from: number; to: number; fresh: boolean } } | { seal: { prefix: Uint8Array; header: Uint8Array; next: SharedArrayBuffer } };
type FromWorker = { type: 'head'; part: number; head: Uint8Array } | { type: 'hashed'; part: number; hashed: Par2Hashed } | { type: 'rs' } | { type: 'sealed' } | { type: 'error'; message: string; code?: string };

/* eslint-disable */
// Runs inside the worker from its source text (like parts.ts), plain CommonJS require only; gf16.ts's
// makeGf16 and md5x.ts's makeMd5Lanes come in as parameters (a test runner rewrites the names a module imports).
function recoveryWorkerMain(gf16: typeof makeGf16, md5x: typeof makeMd5Lanes): void {
  const { parentPort, workerData } = require('node:worker_threads');
  const fs = require('node:fs');
  const { join } = require('node:path');
  const { createHash } = require('node:crypto');
  const { crc32 } = require('node:zlib');
  const W = workerData as WorkerInput;
  const B = W.blockSize;
  const R = W.recoveryBlocks;
  const md5 = (b: Uint8Array) => createHash('md5').update(b).digest();
  const fail = (m: string): never => {
    throw new Error(m);
  };
  const gf = gf16();
  // Window: 128 KiB, less when there are many recovery blocks (their windows at most ~32 MiB), a multiple
  // of 32. Small enough that the recovery blocks' windows stay in the core's cache while every source
  // block is added to them: the kernel does 1.5× what it does with 1 MiB (docs/transfer.md "What recovery costs").
  const win = Math.max(32, Math.min(1 << 17, Math.floor((32 << 20) / R / 32) * 32));
  // Memory: the source window, the R tables, the kernel's scratch, the R recovery windows.
  const [TAB, SCR] = [win, win + 128 * R];
  const ACC = SCR + W.scratch;
  const mem = new WebAssembly.Memory({ initial: Math.ceil((ACC + R * win) / 65536) });
  const kernel = new WebAssembly.Instance(new WebAssembly.Module(W.wasm), { e: { m: mem } }).exports.muls as (s: number, d: number, n: number, t: number, count: number, stride: number, scratch: number) => void;
  const heap = new Uint8Array(mem.buffer);
  const pread = (fd: number, into: Uint8Array, at: number, n: number, pos: number) => {
    for (let got = 0; got < n; ) got += fs.readSync(fd, into, at + got, n - got, pos + got) || fail(`short read at ${pos + got}`);
  };
  const pwrite = (fd: number, data: Uint8Array, pos: number) => {
    for (let w = 0; w < data.length; ) w += fs.writeSync(fd, data, w, data.length - w, pos + w);
  };
  // A part is opened when first read (the threads start before the parts exist); pack creates the PAR2 files.
  const partFds: number[] = [];
  const partFd = (i: number) => (partFds[i] ??= fs.openSync(join(W.dir, W.parts[i]!.file), 'r'));
  const fileFds = W.files.map((f) => fs.openSync(join(W.dir, f.file), 'r+'));
  const target: { fd: number; at: number }[] = [];
  W.files.forEach((f, i) => f.slices.forEach((s) => (target[s.exponent] = { fd: fileFds[i]!, at: s.at })));
  const blocksOf = (size: number) => Math.max(1, Math.ceil(size / B));
  const blocks: { part: number; start: number; len: number }[] = [];
  const starts: number[] = [];
  let total = 0;
  W.parts.forEach((p, i) => {
    starts.push(total);
    total += p.size;
    for (let b = 0; b < blocksOf(p.size); b++) blocks.push({ part: i, start: b * B, len: Math.min(B, p.size - b * B) });
  });

  // Checksums of this thread's parts (part p goes to thread p % threads), each as its bytes arrive. The
  // head (MD5 of the first 16 KiB) is sent as soon as those bytes are written: the file ID needs only it
  // and the length. The file's MD5 and its blocks' are one pass, reading straight into a kernel's
  // memory: two parts of the same size (all but the last) at once in four SIMD lanes (md5x4.ts), which
  // then advance as far as the later of the two is written; a part left without a partner alone (md5x.ts).
  const one = md5x(W.md5Wasm, B, 1);
  const quad = md5x(W.md5qWasm, B, 2);
  const mine = W.parts.map((_, i) => i).filter((i) => i % W.threads === W.id);
  const jobs: number[][] = [];
  for (let i = 0; i < mine.length; i++) jobs.push(i + 1 < mine.length && W.parts[mine[i + 1]!]!.size === W.parts[mine[i]!]!.size ? [mine[i]!, mine[++i]!] : [mine[i]!]);
  // Reads of 128 KiB: the bytes stay in the core's L2 cache from the page-cache copy to the CRC32 and the
  // MD5s (with 1 MiB reads the copy alone cost several times the system time; docs/transfer.md).
  const READ = 128 << 10;
  const zeros = Buffer.alloc(1 << 20);
  const hash16k: Buffer[] = [];
  let nextHead = 0;
  const heads = (limit: number) => {
    for (; nextHead < mine.length; nextHead++) {
      const p = mine[nextHead]!;
      const len = Math.min(16384, W.parts[p]!.size);
      if (starts[p]! + len > limit || (len === 0 && starts[p]! >= limit)) return;
      const head = Buffer.alloc(len);
      pread(partFd(p), head, 0, head.length, 0);
      parentPort.postMessage({ type: 'head', part: p, head: (hash16k[p] = md5(head)) });
    }
  };
  let j = 0;
  let off = 0;
  let inBlock = 0, block = 0, crcs: number[] = [], sums: Buffer[] = [];
  const hashTo = (limit: number) => {
    heads(limit);
    while (j < jobs.length && starts[jobs[j]!.at(-1)!]! + off < limit) {
      const job = jobs[j]!;
      const md = job.length === 2 ? quad : one;
      const { size } = W.parts[job[0]!]!;
      if (off === 0) {
        md.start();
        sums = job.map(() => Buffer.alloc(20 * blocksOf(size)));
        crcs = job.map(() => 0);
        inBlock = block = 0;
      }
      const spaces = md.spaces();
      const n = Math.min(READ, limit - starts[job.at(-1)!]! - off, size - off, B - inBlock);
      job.forEach((p, k) => {
        pread(partFd(p), spaces[k]!, 0, n, off);
        crcs[k] = crc32(spaces[k]!.subarray(0, n), crcs[k]);
      });
      md.update(n);
      inBlock += n;
      off += n;
      if (inBlock === B || off === size) {
        // The last block is zero-padded to the block size (endBlock pads its MD5; the CRC here).
        const digests = md.endBlock();
        job.forEach((_, k) => {
          for (let pad = B - inBlock; pad > 0; pad -= zeros.length) crcs[k] = crc32(zeros.subarray(0, Math.min(pad, zeros.length)), crcs[k]);
          sums[k]!.set(digests[k]!, 20 * block);
          sums[k]!.writeUInt32LE(crcs[k]! >>> 0, 20 * block + 16);
          crcs[k] = 0;
        });
        block++;
        inBlock = 0;
      }
      if (off === size) {
        const digests = md.endFile();
        job.forEach((p, k) => {
          const hashed: Par2Hashed = { name: W.parts[p]!.file, length: size, md5: Buffer.from(digests[k]!), hash16k: hash16k[p]!, checksums: sums[k]! };
          parentPort.postMessage({ type: 'hashed', part: p, hashed });
        });
        j++;
        off = 0;
      }
    }
  };

  // Reed–Solomon: recovery block e = ⊕_g c_g^e · block_g, c_g = 2^logs[g] (logs in stream order), the
  // blocks of parts [from, to) added to what the volumes hold (or to zeros when `fresh`).
  const rs = (logs: number[], next: Int32Array, from: number, to: number, fresh: boolean) => {
    for (let a = Atomics.add(next, 0, 1) * win; a < B; a = Atomics.add(next, 0, 1) * win) {
      const len = Math.min(win, B - a);
      const padded = Math.ceil(len / 32) * 32;
      // Bytes [len, padded) of a recovery window are computed but never written out.
      if (fresh) heap.fill(0, ACC, ACC + R * win);
      else for (let e = 0; e < R; e++) pread(target[e]!.fd, heap, ACC + e * win, len, target[e]!.at + W.sliceHeader + a);
      blocks.forEach((blk, g) => {
        if (blk.part < from || blk.part >= to) return;
        const n = Math.min(len, blk.len - a);
        if (n <= 0) return; // beyond the end of a short last block: zeros, which add nothing
        pread(partFd(blk.part), heap, 0, n, blk.start + a);
        heap.fill(0, n, padded);
        for (let e = 0; e < R; e++) gf.tables(gf.exp[(logs[g]! * e) % 65535]!, heap, TAB + 128 * e);
        kernel(0, ACC, padded, TAB, R, win, SCR); // into all R recovery windows at once
      });
      for (let e = 0; e < R; e++) pwrite(target[e]!.fd, heap.subarray(ACC + e * win, ACC + e * win + len), target[e]!.at + W.sliceHeader + a);
    }
  };
  const buf = Buffer.allocUnsafe(128 << 10);
  // Each slice packet's MD5 covers the set ID, its type, its exponent and the block: read back, then its header.
  const seal = (prefix: Uint8Array, header: Uint8Array, next: Int32Array) => {
    for (let e = Atomics.add(next, 0, 1); e < R; e = Atomics.add(next, 0, 1)) {
      const { fd, at } = target[e]!;
      const exponent = Buffer.alloc(4);
      exponent.writeUInt32LE(e);
      const h = createHash('md5').update(prefix).update(exponent);
      for (let a = 0; a < B; a += buf.length) {
        const n = Math.min(buf.length, B - a);
        pread(fd, buf, 0, n, at + W.sliceHeader + a);
        h.update(buf.subarray(0, n));
      }
      pwrite(fd, Buffer.concat([header.subarray(0, 16), h.digest(), header.subarray(16), exponent]), at);
    }
  };
  parentPort.on('message', (m: ToWorker) => {
    try {
      if ('written' in m) hashTo(m.written);
      else if ('rs' in m) {
        rs(m.rs.logs, new Int32Array(m.rs.next), m.rs.from, m.rs.to, m.rs.fresh);
        parentPort.postMessage({ type: 'rs' });
      } else {
        seal(m.seal.prefix, m.seal.header, new Int32Array(m.seal.next));
        for (const fd of [...fileFds, ...partFds]) if (fd !== undefined) fs.closeSync(fd);
        parentPort.postMessage({ type: 'sealed' });
      }
    } catch (e: any) {
      parentPort.postMessage({ type: 'error', message: String(e?.message ?? e), code: e?.code });
    }
  });
}
/* eslint-enable */

const WORKER_SOURCE = `'use strict';\n(${recoveryWorkerMain.toString()})(${makeGf16.toString()}, ${makeMd5Lanes.toString()});\n`;

/**
 * Pack's side of the PAR2 writer: `written(n)` after n more bytes of the tar stream are in the parts
 * (the parts are exactly the sizes given, in order). `heads` resolves with each part's MD5 of its first
 * 16 KiB, `hashed` with every part's checksums; `recover` adds parts' blocks to the recovery blocks on
 * both threads (one call at a time) and `seal` writes the slice headers (the caller writes the critical
 * packets). The PAR2 files must exist, at their full size, before the threads start.
 */
export class RecoveryThreads {
  readonly heads: Promise<Buffer[]>;
  readonly hashed: Promise<Par2Hashed[]>;
  private readonly workers: Worker[];
  private readonly waits = new Map<string, { n: number; resolve: () => void }>();
  private failure: ((e: Error) => void)[] = [];
  private failed: Error | undefined;
  private total = 0;

  constructor(dir: string, blockSize: number, recoveryBlocks: number, parts: { file: string; size: number }[], files: Par2FileLayout[]) {
    const threads = 2;
    const data = { wasm: gf16Wasm(), md5Wasm: md5PairWasm(), md5qWasm: md5x4Wasm(), dir, blockSize, parts, files, recoveryBlocks, sliceHeader: SLICE_HEADER, scratch: 2 * GF16_CHUNK, threads };
    const heads: Buffer[] = [];
    const hashed: Par2Hashed[] = [];
    let headsDone!: (h: Buffer[]) => void;
    let hashedDone!: (h: Par2Hashed[]) => void;
    this.heads = new Promise((r, j) => ((headsDone = r), this.failure.push(j)));
    this.hashed = new Promise((r, j) => ((hashedDone = r), this.failure.push(j)));
    for (const p of [this.heads, this.hashed]) p.catch(() => undefined); // awaited by the caller
    const fail = (message: string, code?: string) => {
      this.failed ??= new InternalError(`cannot write the PAR2 recovery files in ${dir}: ${message}`, { subject: dir, hint: code === 'ENOSPC' ? 'the disk is full; free space or choose another --out' : undefined });
      for (const f of this.failure) f(this.failed);
    };
    const count = (list: unknown[]) => list.filter((x) => x !== undefined).length === parts.length;
    this.workers = Array.from({ length: threads }, (_, id) => {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { ...data, id } satisfies WorkerInput });
      w.on('message', (m: FromWorker) => {
        if (m.type === 'head') {
          heads[m.part] = Buffer.from(m.head);
          if (count(heads)) headsDone(heads);
        } else if (m.type === 'hashed') {
          const h = m.hashed;
          hashed[m.part] = { ...h, md5: Buffer.from(h.md5), hash16k: Buffer.from(h.hash16k), checksums: Buffer.from(h.checksums) };
          if (count(hashed)) hashedDone(hashed);
        } else if (m.type === 'error') fail(m.message, m.code);
        else {
          const wait = this.waits.get(m.type);
          if (wait && --wait.n === 0) wait.resolve();
        }
      });
      w.on('error', (e) => fail(e.message));
      return w;
    });
  }

  written(n: number): void {
    this.total += n;
    for (const w of this.workers) w.postMessage({ written: this.total });
  }

  /** Resolves once every thread answered `type`; rejects when one fails. */
  private all(type: 'rs' | 'sealed', message: (next: SharedArrayBuffer) => ToWorker): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      this.failure.push(reject);
      this.waits.set(type, { n: this.workers.length, resolve });
      const next = new SharedArrayBuffer(4);
      for (const w of this.workers) w.postMessage(message(next));
    });
  }

  /** Add the blocks of parts [from, to) (to zeros when `fresh`); logs[g]: the log of block g's constant (blocks in stream order). */
  recover(logs: number[], from: number, to: number, fresh: boolean): Promise<void> {
    return this.all('rs', (next) => ({ rs: { logs, next, from, to, fresh } }));
  }

  /** Write the slice headers: `prefix` = set ID ‖ type (what the packet MD5 covers before the exponent), `header` = magic ‖ length. */
  async seal(prefix: Uint8Array, header: Uint8Array): Promise<void> {
    await this.all('sealed', (next) => ({ seal: { prefix, header: Buffer.concat([header, prefix]), next } }));
    await this.abort();
  }

  async abort(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
