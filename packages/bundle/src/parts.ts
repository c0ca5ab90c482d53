import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { InternalError } from '@airgap/core';

export interface PartInfo {
  file: string;
  size: number;
  sha256: string;
}

/** `part-00001`…: five digits so that name order is stream order (docs/bundle-format.md). */
export function partName(n: number): string {
  return `part-${String(n).padStart(5, '0')}`;
}

const STAGE = 1 << 20;
const POOL = 8;

type FromWorker =
  | { type: 'ack'; buf: ArrayBuffer; n: number }
  | { type: 'error'; message: string; code?: string }
  | { type: 'written'; parts: PartInfo[] }
  | { type: 'finished'; parts: PartInfo[] }
  | { type: 'aborted' };

/* eslint-disable */
// Runs inside the worker; shipped as source text (see verify.ts for why), plain CommonJS require only.
// Cuts the stream into parts of exactly chunkSize bytes, hashes each part and writes it in the same pass,
// and fsyncs each finished part in the background while the next one is written.
function partWorkerMain(): void {
  const { parentPort, workerData } = require('node:worker_threads');
  const fs = require('node:fs');
  const { join } = require('node:path');
  const { createHash } = require('node:crypto');
  const { dir, chunkSize } = workerData as { dir: string; chunkSize: number };
  const parts: any[] = [];
  const syncs: Promise<void>[] = [];
  let fd = -1;
  let size = 0;
  let hash: any;
  let failed = false;
  const SLICE = 128 << 10;
  const name = (n: number) => `part-${String(n).padStart(5, '0')}`;
  const closePart = () => {
    if (fd < 0) return;
    parts.push({ file: name(parts.length + 1), size, sha256: hash.digest('hex') });
    const f = fd;
    fd = -1;
    syncs.push(
      new Promise<void>((res, rej) =>
        fs.fsync(f, (e: any) => {
          fs.close(f, () => (e ? rej(e) : res()));
        }),
      ),
    );
  };
  const fail = (e: any) => {
    failed = true;
    parentPort.postMessage({ type: 'error', message: String(e?.message ?? e), code: e?.code });
  };
  parentPort.on('message', (m: any) => {
    if (m.type === 'data') {
      if (!failed) {
        try {
          const buf = new Uint8Array(m.buf, 0, m.len);
          let off = 0;
          while (off < buf.length) {
            if (fd < 0 || size === chunkSize) {
              closePart();
              fd = fs.openSync(join(dir, name(parts.length + 1)), 'wx', 0o644);
              size = 0;
              hash = createHash('sha256');
            }
            const n = Math.min(chunkSize - size, buf.length - off);
            // Hash and write in 128 KiB slices: each slice is written while it is still in the CPU cache,
            // and writes of this size into the page cache measured 4-5x faster (less system time)
            // than 1-4 MiB writes of the same bytes (test/bench/bundle.mjs).
            for (let at = off; at < off + n; ) {
              const end = Math.min(at + SLICE, off + n);
              const slice = buf.subarray(at, end);
              hash.update(slice);
              for (let w = 0; w < slice.length; ) w += fs.writeSync(fd, slice, w, slice.length - w);
              at = end;
            }
            size += n;
            off += n;
          }
        } catch (e) {
          fail(e);
        }
      }
      parentPort.postMessage({ type: 'ack', buf: m.buf, n: m.len }, [m.buf]);
    } else if (m.type === 'finish' && !failed) {
      try {
        closePart();
      } catch (e) {
        return fail(e);
      }
      // Every byte is in the page cache: the parts can be read (par2) while the fsyncs finish.
      parentPort.postMessage({ type: 'written', parts });
      Promise.all(syncs).then(
        () => parentPort.postMessage({ type: 'finished', parts }),
        (e) => fail(e),
      );
    } else if (m.type === 'abort') {
      if (fd >= 0) fs.closeSync(fd);
      fd = -1;
      Promise.allSettled(syncs).then(() => parentPort.postMessage({ type: 'aborted' }));
    }
  });
}
/* eslint-enable */

const WORKER_SOURCE = `'use strict';\n(${partWorkerMain.toString()})();\n`;

/** The sizes of the parts PartWriter cuts a stream of `total` bytes into: all `chunkSize` but the last. */
export function partSizes(total: number, chunkSize: number): number[] {
  const sizes = Array<number>(Math.floor(total / chunkSize)).fill(chunkSize);
  if (total % chunkSize) sizes.push(total % chunkSize);
  return sizes;
}

/**
 * The tar stream cut into parts of exactly `chunkSize` bytes (the last may be shorter), each hashed in
 * the same pass that writes it. This thread only copies bytes into 1 MiB stage buffers; a worker thread
 * hashes and writes them (buffers are transferred, not copied, and come back for reuse), so reading
 * blobs and hashing+writing parts run on two cores with at most 8 MiB staged (docs/design.md). Buffers of
 * 1 MiB rather than 4 keep the bytes in the shared CPU cache until the worker hashes them: measured
 * ~15% less CPU.
 */
export class PartWriter {
  /** Bytes handed to write() so far. */
  accepted = 0;
  private readonly worker: Worker;
  private readonly free: ArrayBuffer[] = [];
  private allocated = 0;
  private cur: Uint8Array | undefined;
  private used = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private finished: ((m: FromWorker) => void) | undefined;
  private dead = false;

  constructor(
    dir: string,
    chunkSize: number,
    private readonly onBytes?: (n: number) => void,
  ) {
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunk size must be a positive integer, got ${chunkSize}`);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { dir, chunkSize } });
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'ack') {
        this.free.push(m.buf);
        this.onBytes?.(m.n);
      } else if (m.type === 'error') {
        this.failure ??= new InternalError(`cannot write the bundle parts in ${dir}: ${m.message}`, { subject: dir, hint: m.code === 'ENOSPC' ? 'the disk is full; free space or choose another --out' : undefined });
        this.finished?.(m);
      } else this.finished?.(m);
      this.wake?.();
    });
    this.worker.on('error', (e) => {
      this.dead = true;
      this.failure ??= e;
      this.finished?.({ type: 'error', message: e.message });
      this.wake?.();
    });
  }

  async write(src: Uint8Array): Promise<void> {
    this.accepted += src.length;
    let off = 0;
    while (off < src.length) {
      if (!this.cur) this.cur = new Uint8Array(await this.take());
      const n = Math.min(STAGE - this.used, src.length - off);
      this.cur.set(src.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      if (this.used === STAGE) this.send();
    }
  }

  /**
   * Copy `size` bytes of an open file straight into the stage buffers (no intermediate buffer, no
   * allocation per chunk). Returns the bytes actually read; fewer than `size` means the file is short.
   */
  async writeFrom(fh: FileHandle, size: number): Promise<number> {
    let pos = 0;
    while (pos < size) {
      if (!this.cur) this.cur = new Uint8Array(await this.take());
      const want = Math.min(STAGE - this.used, size - pos);
      const { bytesRead } = await fh.read(this.cur, this.used, want, pos);
      if (bytesRead === 0) break;
      this.used += bytesRead;
      this.accepted += bytesRead;
      pos += bytesRead;
      if (this.used === STAGE) this.send();
    }
    return pos;
  }

  private send(): void {
    if (!this.cur || this.used === 0) return;
    const buf = this.cur.buffer as ArrayBuffer;
    this.worker.postMessage({ type: 'data', buf, len: this.used }, [buf]);
    this.cur = undefined;
    this.used = 0;
  }

  private async take(): Promise<ArrayBuffer> {
    for (;;) {
      if (this.failure) throw this.failure;
      const b = this.free.pop();
      if (b) return b;
      if (this.allocated < POOL) {
        this.allocated++;
        return new ArrayBuffer(STAGE);
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  /** Write what is staged, close and fsync every part, and return them. */
  async finish(): Promise<PartInfo[]> {
    const { parts, synced } = await this.close();
    await synced;
    return parts;
  }

  /**
   * Write what is staged and close the last part; resolves once every part is written and readable, with
   * `synced`, which settles when every part is fsynced (then the worker is stopped). Lets recovery data be
   * computed from the parts while the disk flushes them (docs/design.md); the caller awaits `synced`
   * before it seals the bundle.
   */
  async close(): Promise<{ parts: PartInfo[]; synced: Promise<void> }> {
    if (this.failure) throw this.failure;
    this.send();
    let done!: (m: FromWorker) => void;
    const end = new Promise<FromWorker>((r) => (done = r));
    const written = new Promise<FromWorker>((r) => {
      this.finished = (m) => (m.type === 'written' ? r(m) : (r(m), done(m)));
      this.worker.postMessage({ type: 'finish' });
    });
    const w = await written;
    if (w.type !== 'written') {
      this.dead = true;
      await this.worker.terminate();
      throw this.failure ?? new Error('the part writer stopped');
    }
    this.finished = done;
    const synced = end.then(async (m) => {
      this.dead = true;
      await this.worker.terminate();
      if (m.type !== 'finished') throw this.failure ?? new Error('the part writer stopped');
    });
    synced.catch(() => undefined); // awaited by the caller; never an unhandled rejection meanwhile
    return { parts: w.parts, synced };
  }

  /** Close whatever is open after a failure (the caller removes the directory). */
  async abort(): Promise<void> {
    if (!this.dead) await new Promise<void>((r) => {
      const t = setTimeout(r, 10_000);
      this.finished = () => {
        clearTimeout(t);
        r();
      };
      this.worker.postMessage({ type: 'abort' });
    });
    await this.worker.terminate();
  }
}
