import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface PartToHash {
  file: string;
  path: string;
  size: number;
}

export interface PartDigest {
  /** Hex SHA-256 of the first `size` bytes of the part. */
  sha256: string;
  /** Bytes actually read: fewer than `size` means the file shrank after it was measured. */
  read: number;
}

/**
 * Bytes per read. 128 KiB, not 1 MiB: the buffer then stays in the core's L2 cache (512 KiB a core on
 * the 2-core EPYC the benches run on) between the copy out of the page cache and the hash that reads it
 * again. Measured there on 0.5 GiB of parts, one stream: 64-128 KiB reads cost ~0.08 s of system time
 * and ~0.40 s user, 256 KiB and above ~0.30-0.40 s system (test/bench/bundle.mjs uses the same size
 * for its peer stream, so the ratio it prints is the threads' gain alone).
 */
const READ_SIZE = 128 << 10;
/** Below this many bytes in all, hashing on this thread beats starting worker threads. */
const INLINE_BYTES = 32 << 20;
const PROGRESS_EVERY = 16 << 20;

type ToWorker = { type: 'part'; id: number; path: string; size: number };
type FromWorker = { type: 'bytes'; n: number } | { type: 'done'; id: number; sha256: string; read: number } | { type: 'error'; id: number; message: string; code?: string };

/* eslint-disable */
// Runs inside each worker; shipped as source text (no build step, the same from dist/ and the sources
// under test), plain CommonJS require only. One reused buffer, synchronous reads: the fastest
// read+hash loop node has (test/bench/bundle.mjs uses the same loop as the peer).
function hashWorkerMain(): void {
  const { parentPort, workerData } = require('node:worker_threads');
  const { createHash } = require('node:crypto');
  const fs = require('node:fs');
  const buf = Buffer.allocUnsafe(workerData.readSize);
  parentPort.on('message', (m: any) => {
    let fd = -1;
    try {
      fd = fs.openSync(m.path, 'r');
      const h = createHash('sha256');
      let pos = 0;
      let unreported = 0;
      while (pos < m.size) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, m.size - pos), pos);
        if (n === 0) break;
        h.update(n === buf.length ? buf : buf.subarray(0, n));
        pos += n;
        unreported += n;
        if (unreported >= workerData.progressEvery) {
          parentPort.postMessage({ type: 'bytes', n: unreported });
          unreported = 0;
        }
      }
      if (unreported) parentPort.postMessage({ type: 'bytes', n: unreported });
      parentPort.postMessage({ type: 'done', id: m.id, sha256: h.digest('hex'), read: pos });
    } catch (e: any) {
      parentPort.postMessage({ type: 'error', id: m.id, message: String(e?.message ?? e), code: e?.code });
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  });
}
/* eslint-enable */

const WORKER_SOURCE = `'use strict';\n(${hashWorkerMain.toString()})();\n`;

/**
 * The SHA-256 of every part, several parts at once: one worker thread per core (at most one per
 * part), each reading its part once with a reused buffer. Hashing is the whole cost of verifying a
 * bundle (docs/security.md), and one SHA-256 stream cannot use a second core, so this is where verify
 * gets its speed: with 2 cores and 2 or more parts, about twice the rate of one read+hash stream. A
 * small bundle is hashed on this thread (no worker start-up). Start it early: `start()` spawns the
 * workers before the parts are known, so their start-up overlaps the signature check.
 */
export class PartHasher {
  private workers: Worker[] = [];

  /** Spawn the workers for up to `maxParts` parts of `bytes` in all (call before hash(), or not at all). */
  start(maxParts: number, bytes: number): void {
    if (this.workers.length || bytes < INLINE_BYTES) return;
    const n = Math.max(1, Math.min(availableParallelism(), maxParts));
    for (let i = 0; i < n; i++) {
      this.workers.push(new Worker(WORKER_SOURCE, { eval: true, workerData: { readSize: READ_SIZE, progressEvery: PROGRESS_EVERY } }));
    }
  }

  /** Hash every part; a part that cannot be opened or read rejects with its errno error (with `part` set). */
  async hash(parts: PartToHash[], onBytes?: (n: number) => void): Promise<PartDigest[]> {
    const total = parts.reduce((n, p) => n + p.size, 0);
    this.start(parts.length, total);
    if (!this.workers.length) {
      const out: PartDigest[] = [];
      for (const p of parts) out.push(await hashInline(p, onBytes));
      return out;
    }
    const results: PartDigest[] = new Array(parts.length);
    // Largest first, so the last part to finish is a small one and no core idles long at the end.
    const queue = parts.map((p, id) => ({ ...p, id })).sort((a, b) => b.size - a.size);
    await new Promise<void>((resolve, reject) => {
      let pending = parts.length;
      let failed = false;
      const feed = (w: Worker) => {
        const next = queue.shift();
        if (next) w.postMessage({ type: 'part', id: next.id, path: next.path, size: next.size } satisfies ToWorker);
      };
      for (const w of this.workers) {
        w.on('message', (m: FromWorker) => {
          if (failed) return;
          if (m.type === 'bytes') onBytes?.(m.n);
          else if (m.type === 'error') {
            failed = true;
            reject(Object.assign(new Error(m.message), { code: m.code, part: parts[m.id].file }));
          } else {
            results[m.id] = { sha256: m.sha256, read: m.read };
            if (--pending === 0) resolve();
            else feed(w);
          }
        });
        w.on('error', (e) => {
          failed = true;
          reject(e);
        });
        feed(w);
      }
      if (pending === 0) resolve();
    });
    return results;
  }

  /** Stop the workers (always call it, also after a failure). */
  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

async function hashInline(p: PartToHash, onBytes?: (n: number) => void): Promise<PartDigest> {
  const fh = await open(p.path, 'r').catch((e: Error) => {
    throw Object.assign(e, { part: p.file });
  });
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(Math.min(READ_SIZE, Math.max(1, p.size)));
    let pos = 0;
    while (pos < p.size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, p.size - pos), pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
      onBytes?.(bytesRead);
    }
    return { sha256: h.digest('hex'), read: pos };
  } finally {
    await fh.close();
  }
}
