import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import pLimit, { type LimitFunction } from 'p-limit';
import { type Descriptor, OCTET_STREAM, digestHex, newSha256 } from './descriptor.js';
import { IntegrityError, InternalError, UpstreamError } from './errors.js';
import { type HttpClient, type HttpResponse, failStatus, header } from './http.js';
import { type Logger, type ProgressSink, safeUrl } from './log.js';
import { type ContentStore, syncFile } from './store.js';
import { PartialDownload, sweepPartials } from './transfer-partial.js';
import { type Hashes, type KeptBody, type SentResponse, contentLength, hashesOf, keepOnCut, rangeStart, sizeOf, strongEtag } from './transfer-util.js';

export type { SentResponse } from './transfer-util.js';

/** A hash the upstream publishes besides (or instead of) sha256: npm `dist.integrity`, a yum `<checksum>`. */
export interface IntegrityCheck {
  /** A node crypto hash name: sha1, sha256, sha512, md5. */
  algorithm: string;
  /** The expected value, in `encoding`. */
  value: string;
  encoding: 'hex' | 'base64';
  /** Where the value comes from, for the mismatch message ("dist.integrity", "primary.xml <checksum>"). */
  source: string;
}

/** One blob a source needs: where from, and what it must be (docs/transfers.md). */
export interface BlobRequest {
  url: string | URL;
  /** Request headers (auth); never printed. */
  headers?: Record<string, string>;
  /** The `sha256:` digest the bytes must have; absent when the upstream gives none (then recorded as found). */
  digest?: string;
  size?: number;
  /** Upstream integrity data checked while the bytes stream, besides the digest. */
  integrity?: IntegrityCheck;
  mediaType?: string;
  /** Names the blob in messages and progress events: an artifact and its URL. */
  subject: string;
  /**
   * A copy the cache holds from an earlier run, found by URL (no digest known beforehand): the GET is
   * made conditional (If-None-Match / If-Modified-Since) and a 304 answers with this copy.
   */
  cached?: CachedCopy;
  /** Answers that mean "not there" (e.g. 404 for a by-hash URL): fetch returns undefined instead of failing. */
  absentOn?: number[];
  /**
   * Send the GET with these headers (Range/If-Range added by the engine) for a protocol with its own auth
   * (OCI Bearer tokens) or client (S3: packages/s3/src/object-send.ts); default: a GET of `url` with `headers`.
   */
  send?: (headers: Record<string, string>) => Promise<SentResponse>;
  /** Hint for a non-2xx answer. */
  statusHint?: (status: number) => string | undefined;
}

/** A blob the cache holds for a URL, with the validators the server gave for it. */
export interface CachedCopy {
  digest: string;
  size: number;
  etag?: string;
  lastModified?: string;
}

/** What fetch brought: the stored blob and the validators to revalidate it by next time. */
export interface Fetched extends Descriptor {
  etag?: string;
  lastModified?: string;
}

/** Byte progress of one transfer, for the CLI (bars on a terminal, heartbeat lines in cron). */
export interface TransferProgress {
  type: 'transfer';
  direction: 'download' | 'upload';
  state: 'start' | 'progress' | 'resumed' | 'done' | 'failed';
  subject: string;
  digest?: string;
  /** Bytes of this blob done so far (after a resume: counting the bytes kept from before). */
  done: number;
  total?: number;
}

export interface TransfersOptions {
  http: HttpClient;
  /** `--concurrency`: transfers (downloads, uploads) in flight at once, across every artifact and ecosystem. */
  concurrency: number;
  progress: ProgressSink;
  log: Logger;
  /** Where downloads go (pack's download cache); unpack's engine has none and only pushes. */
  store?: ContentStore;
  signal?: AbortSignal;
  /** Emit a progress event at most every this many bytes per blob (default 1 MiB). */
  progressEvery?: number;
}

/** Bytes of a download gathered before one write (see Transfers.stream). */
const WRITE_BATCH = 256 << 10;

/**
 * The transfer engine (docs/transfers.md): the one place in airgap where blobs cross the network.
 * - One limit: at most `concurrency` transfers run at once, whatever asks for them (every ecosystem,
 *   every artifact, downloads in pack and pushes in unpack). Work that is not a transfer is never
 *   limited here, so nothing waits on itself.
 * - A blob asked for twice while it downloads (a layer two images share) is downloaded once.
 * - The bytes are hashed while they stream: sha256 and the upstream's own integrity data; a mismatch
 *   fails at once (never retried) and keeps nothing.
 * - A connection cut mid-blob is resumed with `Range`/`If-Range` from the bytes already on disk; a
 *   partial download left by a killed run is resumed by the next run that wants the blob, and any other
 *   partial is removed by `sweep()`.
 */
export class Transfers {
  readonly concurrency: number;
  private readonly limiter: LimitFunction;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly touched = new Set<string>();
  private readonly every: number;

  constructor(private readonly opts: TransfersOptions) {
    this.concurrency = Math.max(1, Math.floor(opts.concurrency) || 1);
    this.limiter = pLimit(this.concurrency);
    this.every = opts.progressEvery ?? 1 << 20;
  }

  /** Run one transfer under the global limit. `fn` must not ask the engine for another transfer. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.limiter(fn);
  }

  /** Transfers running now and waiting for a slot (for tests and the CLI's heartbeat). */
  get load(): { active: number; pending: number } {
    return { active: this.limiter.activeCount, pending: this.limiter.pendingCount };
  }

  /**
   * Bring one blob into the store (a no-op when it is there), verified. Returns its descriptor, or
   * undefined when the server answered one of `absentOn`.
   */
  fetch(req: BlobRequest): Promise<Fetched | undefined> {
    const store = this.requireStore();
    return this.once(`fetch\0${req.digest ?? `url:${safeUrl(req.url)}`}`, async () => {
      if (req.digest && (await store.has(req.digest))) {
        return { mediaType: req.mediaType ?? OCTET_STREAM, digest: req.digest, size: (await store.size(req.digest))! };
      }
      return this.run(() => this.download(store, req));
    });
  }

  /**
   * One `fn` per key while it runs: a second caller with the same key (a layer two images of one
   * repository push at once) waits for the first's result instead of doing the work again.
   */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key);
    if (running) return running as Promise<T>;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /**
   * `fn` after every earlier call with the same key has settled: one at a time per key (the versions of
   * one npm package, the manifest PUTs into one repository). Take it outside `run`, so a caller waiting
   * here holds no transfer slot.
   */
  serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
    this.queues.set(key, next);
    return next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }

  /**
   * A small document (an index, a manifest, a packument) under the global limit: status and the whole
   * body. Not stored; the caller checks it against what signs it.
   */
  getDocument(url: string | URL, init: { headers?: Record<string, string>; accept404?: boolean } = {}): Promise<{ res: HttpResponse; bytes?: Buffer }> {
    return this.run(async () => {
      const res = await this.opts.http.request(url, { headers: init.headers, side: 'upstream', signal: this.opts.signal });
      if (res.status === 200) return { res, bytes: Buffer.from(await res.body.arrayBuffer()) };
      if (res.status === 404 && init.accept404) {
        await res.body.dump();
        return { res };
      }
      return failStatus(res, 'GET', 'upstream');
    });
  }

  /**
   * A stream that reports upload progress as it is read (wrap a bundle blob before PUT/POST). Use it
   * inside `run()`.
   */
  meter(source: Readable, info: { subject: string; digest?: string; total?: number }): Readable {
    let done = 0;
    let last = 0;
    const emit = (state: TransferProgress['state']) => this.emit({ type: 'transfer', direction: 'upload', state, subject: info.subject, digest: info.digest, done, total: info.total });
    emit('start');
    const every = this.every;
    const t = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        done += chunk.length;
        if (done - last >= every) {
          last = done;
          emit('progress');
        }
        cb(null, chunk);
      },
      flush(cb) {
        emit('done');
        cb();
      },
    });
    source.on('error', (e) => t.destroy(e));
    return source.pipe(t);
  }

  /**
   * Remove partial downloads no fetch of this run asked for (a killed run's leftovers for blobs the
   * manifest no longer wants). Call once the run's fetches are done.
   */
  async sweep(): Promise<void> {
    if (this.opts.store) await sweepPartials(this.opts.store, this.touched);
  }

  private requireStore(): ContentStore {
    if (!this.opts.store) throw new InternalError('this transfer engine has no download store (unpack only pushes)');
    return this.opts.store;
  }

  private emit(e: TransferProgress): void {
    this.opts.progress(e);
  }

  private async download(store: ContentStore, req: BlobRequest): Promise<Fetched | undefined> {
    const url = safeUrl(req.url);
    const name = req.digest ? digestHex(req.digest) : newSha256().update(url).digest('hex');
    this.touched.add(name);
    const part = await PartialDownload.open(store, name);
    let have = await part.usable(url);
    const retries = Math.min(this.opts.http.retries, 5);
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const meta = have > 0 ? await part.meta(url) : { url };
      const headers: Record<string, string> = { ...(req.headers ?? {}) };
      const validator = meta.etag ?? meta.lastModified;
      if (have > 0 && validator) {
        headers.range = `bytes=${have}-`;
        headers['if-range'] = validator;
      } else if (have > 0) {
        have = 0;
      }
      const cached = req.cached && (await store.has(req.cached.digest)) ? req.cached : undefined;
      if (cached?.etag) headers['if-none-match'] = cached.etag;
      else if (cached?.lastModified) headers['if-modified-since'] = cached.lastModified;
      const res = req.send ? await req.send(headers) : await this.opts.http.request(req.url, { headers, side: 'upstream', signal: this.opts.signal });
      if (req.absentOn?.includes(res.status)) {
        await res.body.dump();
        return undefined;
      }
      if (res.status === 304 && cached) {
        await res.body.dump();
        return { mediaType: req.mediaType ?? OCTET_STREAM, digest: cached.digest, size: cached.size, etag: cached.etag, lastModified: cached.lastModified };
      }
      let resumed = false;
      if (res.status === 206 && have > 0 && rangeStart(header(res, 'content-range')) === have) resumed = true;
      else if (res.status === 200) have = 0;
      else if (res.status === 416 && have > 0) {
        // The server says our bytes already cover the blob (or the range is wrong): start over.
        await res.body.dump();
        await part.dropBytes();
        have = 0;
        continue;
      } else await failStatus(res, 'GET', 'upstream', req.statusHint?.(res.status));
      // Read at once, so the bytes that arrive before a cut are kept however slow the steps below are.
      const body = keepOnCut(res.body);
      if (!resumed) await part.restart({ url, etag: strongEtag(header(res, 'etag')), lastModified: header(res, 'last-modified') });
      const total = req.size ?? contentLength(res, resumed ? have : 0);
      this.emit({ type: 'transfer', direction: 'download', state: resumed ? 'resumed' : 'start', subject: req.subject, digest: req.digest, done: have, total });
      const hashes = await hashesOf(part.path, resumed ? have : 0, req.integrity);
      try {
        have = await this.stream(body, part.path, resumed ? have : 0, hashes, req, total);
      } catch (e) {
        lastError = e;
        if (e instanceof IntegrityError) {
          await part.drop();
          this.emit({ type: 'transfer', direction: 'download', state: 'failed', subject: req.subject, digest: req.digest, done: 0, total });
          throw e;
        }
        have = await sizeOf(part.path);
        this.opts.log.debug(`${req.subject}: ${(e as Error).message}; ${have} bytes kept, resuming`);
        await this.opts.http.pause(attempt);
        continue;
      }
      const d = await this.finish(store, part, hashes, req, have);
      this.emit({ type: 'transfer', direction: 'download', state: 'done', subject: req.subject, digest: d.digest, done: d.size, total: d.size });
      return { ...d, etag: header(res, 'etag'), lastModified: header(res, 'last-modified') };
    }
    this.emit({ type: 'transfer', direction: 'download', state: 'failed', subject: req.subject, digest: req.digest, done: have, total: req.size });
    throw new UpstreamError(`GET ${url}: the connection broke ${retries + 1} times (${(lastError as Error)?.message ?? 'unknown'}); ${have} bytes are kept and the next run resumes from there`, {
      subject: url,
      cause: lastError,
    });
  }

  /**
   * Append the body to the partial file, each write awaited before its bytes are hashed, so after a cut
   * the file holds exactly the bytes counted (a write stream would drop its buffer). The body arrives in
   * pieces of 16-64 KiB; they are gathered and written with one writev of up to WRITE_BATCH bytes: one
   * write per piece cost more of pack's main thread than hashing the bytes (--cpu-prof of
   * test/bench/oci.mjs). What is gathered is written before a cut is reported, so the resume still asks
   * only for the bytes that did not arrive.
   */
  private async stream(body: KeptBody, partial: string, offset: number, h: Hashes, req: BlobRequest, total: number | undefined): Promise<number> {
    let done = offset;
    let last = offset;
    let batch: Buffer[] = [];
    let batched = 0;
    const fh = await open(partial, offset > 0 ? 'a' : 'w');
    const flush = async () => {
      if (!batched) return;
      const bufs = batch;
      const n = batched;
      batch = [];
      batched = 0;
      const { bytesWritten } = await fh.writev(bufs);
      if (bytesWritten !== n) throw new Error(`short write to ${partial} (${bytesWritten} of ${n} bytes)`);
      for (const b of bufs) {
        h.sha256.update(b);
        h.extra?.update(b);
      }
      done += n;
      if (done - last >= this.every) {
        last = done;
        this.emit({ type: 'transfer', direction: 'download', state: 'progress', subject: req.subject, digest: req.digest, done, total });
      }
    };
    try {
      for await (const chunk of body.stream as AsyncIterable<Buffer>) {
        if (req.size !== undefined && done + batched + chunk.length > req.size) {
          body.stream.destroy();
          throw new IntegrityError(`${req.subject}: more bytes than the expected ${req.size}`, { subject: req.subject });
        }
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH) await flush();
      }
      await flush();
      const cut = body.cut();
      if (cut) throw cut;
    } catch (e) {
      if (e instanceof IntegrityError) throw e;
      await flush().catch(() => undefined); // the bytes that arrived before the cut are kept
      throw Object.assign(new Error(`connection lost after ${done} bytes: ${(e as Error).message}`), { cause: e });
    } finally {
      await fh.close();
    }
    return done;
  }

  private async finish(store: ContentStore, part: PartialDownload, h: Hashes, req: BlobRequest, size: number): Promise<Descriptor> {
    const digest = 'sha256:' + h.sha256.digest('hex');
    const fail = async (msg: string, hint?: string): Promise<never> => {
      await part.drop();
      throw new IntegrityError(`${req.subject}: ${msg}`, { subject: req.subject, hint });
    };
    const upstreamHint = 'the upstream served different bytes than its own integrity data says; do not trust this source until it is explained';
    if (req.size !== undefined && size !== req.size) await fail(`size mismatch: expected ${req.size} bytes, got ${size}`);
    if (req.digest && req.digest !== digest) await fail(`digest mismatch: expected ${req.digest}, got ${digest}`, upstreamHint);
    if (req.integrity && h.extra) {
      const got = h.extra.digest(req.integrity.encoding);
      if (got !== req.integrity.value) await fail(`${req.integrity.source} mismatch: expected ${req.integrity.algorithm} ${req.integrity.value}, got ${got}`, upstreamHint);
    }
    const final = store.path(digest);
    await mkdir(dirname(final), { recursive: true });
    await syncFile(part.path);
    await rename(part.path, final);
    await part.drop(); // the bytes are moved: this removes the validators
    return { mediaType: req.mediaType ?? OCTET_STREAM, digest, size };
  }
}
