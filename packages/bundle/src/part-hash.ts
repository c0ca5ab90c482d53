import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
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
const PART_FILE = /^part-\d+$/;

/** `size` null: the whole file as fstat finds it, and only a regular file (an early hash, below). */
type ToWorker = { type: 'part'; id: number; path: string; size: number | null };
/** `ident`: the file's dev, inode, size and times, the same before and after it was read (else absent). */
type Done = { type: 'done'; id: number; sha256: string; read: number; size: number; ident?: string };
type FromWorker = { type: 'bytes'; id: number; n: number } | Done | { type: 'error'; id: number; message: string; code?: string };

/* eslint-disable */
// Runs inside each worker; shipped as source text (no build step, the same from dist/ and the sources
// under test), plain CommonJS require only. One reused buffer, synchronous reads: the fastest
// read+hash loop node has (test/bench/bundle.mjs uses the same loop as the peer). Opened non-blocking,
// so a FIFO named like a part never blocks a thread (docs/security.md).
function hashWorkerMain(): void {
  const { parentPort, workerData } = require('node:worker_threads');
  const { createHash } = require('node:crypto');
  const fs = require('node:fs');
  const buf = Buffer.allocUnsafe(workerData.readSize);
  const identOf = (st: any) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  parentPort.on('message', (m: any) => {
    let fd = -1;
    try {
      fd = fs.openSync(m.path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const before = fs.fstatSync(fd);
      if (m.size === null && !before.isFile()) throw Object.assign(new Error(`${m.path} is not a regular file`), { code: 'EFTYPE' });
      const size = m.size ?? before.size;
      const h = createHash('sha256');
      let pos = 0;
      let unreported = 0;
      while (pos < size) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
        if (n === 0) break;
        h.update(n === buf.length ? buf : buf.subarray(0, n));
        pos += n;
        unreported += n;
        if (unreported >= workerData.progressEvery) {
          parentPort.postMessage({ type: 'bytes', id: m.id, n: unreported });
          unreported = 0;
        }
      }
      if (unreported) parentPort.postMessage({ type: 'bytes', id: m.id, n: unreported });
      const ident = identOf(before) === identOf(fs.fstatSync(fd)) ? identOf(before) : undefined;
      parentPort.postMessage({ type: 'done', id: m.id, sha256: h.digest('hex'), read: pos, size, ident });
    } catch (e: any) {
      parentPort.postMessage({ type: 'error', id: m.id, message: String(e?.message ?? e), code: e?.code });
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  });
}
/* eslint-enable */

const WORKER_SOURCE = `'use strict';\n(${hashWorkerMain.toString()})();\n`;

interface Job {
  msg: ToWorker;
  done: Promise<Done>;
  settle: { resolve: (d: Done) => void; reject: (e: Error) => void };
  /** Progress while nobody listens yet (an early hash): handed on when hash() adopts the job. */
  unreported: number;
  onBytes?: (n: number) => void;
}

/**
 * The SHA-256 of every part, several parts at once: one worker thread per core (at most one per
 * part), each reading its part once with a reused buffer. Hashing is the whole cost of verifying a
 * bundle (docs/security.md), and one SHA-256 stream cannot use a second core, so this is where verify
 * gets its speed: with 2 cores and 2 or more parts, about twice the rate of one read+hash stream. A
 * small bundle is hashed on this thread (no worker start-up). Start it early: `start()` spawns the
 * workers before the parts are known, so their start-up overlaps the signature check; `hashEarly`
 * (bin/run.js) even starts hashing while the CLI loads.
 */
export class PartHasher {
  private workers: Worker[] = [];
  private idle: Worker[] = [];
  private queue: Job[] = [];
  private jobs = new Map<number, Job>();
  private nextId = 0;
  /** Early hashes by part path, made before the bundle was known (see hashEarly). */
  private early = new Map<string, Job>();
  /** Bytes the threads have read and hashed, in all (each part once when an early hash is used). */
  bytesHashed = 0;

  /** Spawn the workers for up to `maxParts` parts of `bytes` in all (call before hash(), or not at all). */
  start(maxParts: number, bytes: number): void {
    if (this.workers.length || bytes < INLINE_BYTES) return;
    const n = Math.max(1, Math.min(availableParallelism(), maxParts));
    for (let i = 0; i < n; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { readSize: READ_SIZE, progressEvery: PROGRESS_EVERY } });
      w.on('message', (m: FromWorker) => this.onMessage(w, m));
      // A thread that dies fails every job still open; hash() then names the part.
      w.on('error', (e) => this.failAll(e));
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /** Hash every part; a part that cannot be opened or read rejects with its errno error (with `part` set). */
  async hash(parts: PartToHash[], onBytes?: (n: number) => void): Promise<PartDigest[]> {
    const total = parts.reduce((n, p) => n + p.size, 0);
    this.start(parts.length, total);
    for (const w of this.workers) w.ref();
    if (!this.workers.length) {
      const out: PartDigest[] = [];
      for (const p of parts) out.push(await hashInline(p, onBytes));
      return out;
    }
    // Largest first, so the last part to finish is a small one and no core idles long at the end.
    const order = parts.map((p, i) => ({ p, i })).sort((a, b) => b.p.size - a.p.size);
    const early = new Map(order.map(({ p }) => [p.path, this.adoptEarly(p, onBytes)]));
    this.dropEarly();
    const jobs = order.map(({ p }) => early.get(p.path) ?? this.submit({ type: 'part', id: 0, path: p.path, size: p.size }, onBytes));
    const results: PartDigest[] = new Array(parts.length);
    for (const [k, { p, i }] of order.entries()) {
      let d: Done | undefined;
      if (early.get(p.path)) d = await jobs[k].done.then((x) => x, () => undefined);
      // An early hash counts only for the file bundle.json now lists: same size, same file, unchanged.
      if (d && !(d.size === p.size && d.ident !== undefined && d.ident === (await identOf(p.path)))) d = undefined;
      if (!d) {
        try {
          d = await (early.get(p.path) ? this.submit({ type: 'part', id: 0, path: p.path, size: p.size }, onBytes) : jobs[k]).done;
        } catch (e) {
          throw Object.assign(e as Error, { part: p.file });
        }
      }
      results[i] = { sha256: d.sha256, read: d.read };
    }
    return results;
  }

  /**
   * Start hashing, as they are now, the regular files named part-N in `dir`: before bundle.json is read,
   * while the CLI is still loading. Nothing is trusted from it: hash() uses an early digest only for a
   * part the signed bundle.json lists with that very size, and only while the file is the one that was
   * read (same device, inode, size and times before, after and at hash()); else it hashes the part again.
   * A small bundle (under 32 MiB of parts) is left alone. The threads do not keep the process alive.
   */
  prefetch(dir: string): void {
    let parts: { path: string; size: number }[];
    try {
      parts = readdirSync(dir).filter((f) => PART_FILE.test(f)).map((f) => ({ path: join(dir, f), size: statSync(join(dir, f)).size }));
    } catch {
      return; // not a bundle directory: verify says so in its own words
    }
    this.start(parts.length, parts.reduce((n, p) => n + p.size, 0));
    if (!this.workers.length) return;
    for (const w of this.workers) w.unref();
    for (const p of parts.sort((a, b) => b.size - a.size)) this.early.set(p.path, this.submit({ type: 'part', id: 0, path: p.path, size: null }));
  }

  /** Stop the workers (always call it, also after a failure). */
  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    this.idle = [];
    this.failAll(new Error('the part hasher was closed'));
    await Promise.all(ws.map((w) => w.terminate()));
  }

  private adoptEarly(p: PartToHash, onBytes?: (n: number) => void): Job | undefined {
    const job = this.early.get(resolve(p.path));
    if (!job) return undefined;
    this.early.delete(resolve(p.path));
    job.onBytes = onBytes;
    if (job.unreported) onBytes?.(job.unreported);
    job.unreported = 0;
    return job;
  }

  /** Early hashes of files bundle.json does not list: those not yet started are not started. */
  private dropEarly(): void {
    const unused = new Set(this.early.values());
    this.early.clear();
    const waiting = this.queue.filter((job) => unused.has(job));
    this.queue = this.queue.filter((job) => !unused.has(job));
    for (const job of waiting) {
      this.jobs.delete(job.msg.id);
      job.settle.reject(new Error('not a part of this bundle'));
    }
  }

  private submit(msg: ToWorker, onBytes?: (n: number) => void): Job {
    let settle!: Job['settle'];
    const done = new Promise<Done>((resolve, reject) => (settle = { resolve, reject }));
    done.catch(() => undefined); // an early hash nobody adopts may fail unobserved
    const job: Job = { msg: { ...msg, id: this.nextId++ }, done, settle, unreported: 0, onBytes };
    this.jobs.set(job.msg.id, job);
    this.queue.push(job);
    this.feed();
    return job;
  }

  private feed(): void {
    while (this.idle.length && this.queue.length) this.idle.shift()!.postMessage(this.queue.shift()!.msg);
  }

  private onMessage(w: Worker, m: FromWorker): void {
    const job = this.jobs.get(m.id);
    if (m.type === 'bytes') {
      if (job?.onBytes) job.onBytes(m.n);
      else if (job) job.unreported += m.n;
      return;
    }
    this.jobs.delete(m.id);
    this.idle.push(w);
    this.feed();
    if (!job) return;
    if (m.type === 'done') {
      this.bytesHashed += m.read;
      job.settle.resolve(m);
    }
    else job.settle.reject(Object.assign(new Error(m.message), { code: m.code }));
  }

  private failAll(e: Error): void {
    for (const job of this.jobs.values()) job.settle.reject(e);
    this.jobs.clear();
    this.queue = [];
  }
}

async function identOf(path: string): Promise<string | undefined> {
  const st = await stat(path).catch(() => undefined);
  return st && `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

let early: { dir: string; hasher: PartHasher } | undefined;

/**
 * bin/run.js, for `airgap verify|unpack …` before oclif loads: the first argument that is a directory
 * holding bundle.json is taken for the bundle, and its parts start hashing (PartHasher.prefetch) on
 * the other threads while the command loads. A wrong guess costs a few stats; verifyBundle takes the
 * hasher only for the directory it verifies (takeEarlyHasher).
 */
export function hashEarly(args: string[]): void {
  const isBundleDir = (d: string) => {
    try {
      return statSync(join(d, 'bundle.json'), { throwIfNoEntry: false })?.isFile() === true;
    } catch {
      return false; // ENOTDIR (a flag's value naming a file), EACCES, …
    }
  };
  const dir = args.filter((a) => !a.startsWith('-')).map((a) => resolve(a)).find(isBundleDir);
  if (!dir) return;
  const hasher = new PartHasher();
  hasher.prefetch(dir);
  early = { dir, hasher };
}

/** The hasher hashEarly started for `dir`, once (undefined for any other directory, or none started). */
export function takeEarlyHasher(dir: string): PartHasher | undefined {
  if (!early || early.dir !== resolve(dir)) return undefined;
  const { hasher } = early;
  early = undefined;
  return hasher;
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
