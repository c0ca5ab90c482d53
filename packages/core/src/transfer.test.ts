import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from './http.js';
import { IntegrityError, UpstreamError } from './errors.js';
import { silentLogger, type ProgressEvent } from './log.js';
import { ContentStore } from './store.js';
import { Transfers } from './transfer.js';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

interface Blob {
  bytes: Buffer;
  etag?: string;
  /** Cut the connection after this many bytes on the next N full answers. */
  cutAfter?: number;
  cuts?: number;
  /** Milliseconds between the last byte written and the cut (default 300). */
  cutDelay?: number;
}

/** A loopback blob server with Range/If-Range, connection cuts, and a count of requests in flight. */
function blobServer(blobs: Map<string, Blob>) {
  const seen: { path: string; range?: string; ifRange?: string; status: number }[] = [];
  let active = 0;
  let maxActive = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    active++;
    maxActive = Math.max(maxActive, active);
    res.on('close', () => active--);
    const b = blobs.get(req.url ?? '');
    if (!b) {
      seen.push({ path: req.url ?? '', status: 404 });
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'] as string | undefined;
    const honour = range && b.etag && (!ifRange || ifRange === b.etag);
    const start = honour ? Number(range![1]) : 0;
    const body = b.bytes.subarray(start);
    const status = honour ? 206 : 200;
    seen.push({ path: req.url!, range: req.headers.range, ifRange, status });
    const headers: Record<string, string> = { 'content-length': String(body.length) };
    if (b.etag) headers.etag = b.etag;
    if (honour) headers['content-range'] = `bytes ${start}-${b.bytes.length - 1}/${b.bytes.length}`;
    res.writeHead(status, headers);
    if (b.cuts && b.cutAfter !== undefined) {
      b.cuts--;
      // The cut comes after the client has had time to take the bytes (else they die in its socket buffer).
      res.write(body.subarray(0, b.cutAfter), () => setTimeout(() => res.destroy(), b.cutDelay ?? 300));
      return;
    }
    // Slow enough that concurrent requests overlap.
    setTimeout(() => res.end(body), 30);
  });
  return {
    seen,
    get maxActive() {
      return maxActive;
    },
    resetMax() {
      maxActive = 0;
    },
    async start(): Promise<string> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('transfer engine', () => {
  let dir: string;
  const blobs = new Map<string, Blob>();
  const srv = blobServer(blobs);
  let base: string;
  const big = Buffer.alloc(300_000, 7);
  big.write('start', 0);
  big.write('end', big.length - 3);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-transfer-'));
    base = await srv.start();
  });
  afterAll(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  function engine(name: string, opts: { concurrency?: number; retries?: number; events?: ProgressEvent[] } = {}) {
    const http = new HttpClient({ retries: opts.retries ?? 3, proxy: 'none' });
    http.backoffMs = 5;
    const store = new ContentStore(join(dir, name));
    const t = new Transfers({ store, http, concurrency: opts.concurrency ?? 4, progress: (e) => opts.events?.push(e), log: silentLogger, progressEvery: 64 * 1024 });
    return { t, store, http };
  }

  it('resumes a blob cut mid-stream with Range and If-Range, verifies it, and reports byte progress', async () => {
    blobs.set('/cut', { bytes: big, etag: '"v1"', cutAfter: 100_000, cuts: 1 });
    const events: ProgressEvent[] = [];
    const { t, store } = engine('resume', { events });
    const d = await t.fetch({ url: `${base}/cut`, digest: sha(big), size: big.length, subject: 'blob cut' });
    expect(d?.digest).toBe(sha(big));
    expect(await store.has(sha(big))).toBe(true);
    const reqs = srv.seen.filter((s) => s.path === '/cut');
    expect(reqs.map((r) => r.status)).toEqual([200, 206]);
    expect(reqs[1].ifRange).toBe('"v1"');
    const resumedAt = Number(/bytes=(\d+)-/.exec(reqs[1].range!)![1]);
    expect(resumedAt).toBeGreaterThan(0);
    const mine = events.filter((e) => e.type === 'transfer');
    expect(mine.map((e) => e.type === 'transfer' && e.state)).toContain('resumed');
    const last = mine.at(-1)!;
    expect(last.type === 'transfer' && [last.state, last.done, last.total]).toEqual(['done', big.length, big.length]);
    expect(mine.some((e) => e.type === 'transfer' && e.state === 'progress' && e.done > 0 && e.done < big.length)).toBe(true);
  });

  it('keeps every byte that arrived before the cut, even when the connection closes right after them', async () => {
    const bytes = Buffer.alloc(40_000, 5);
    blobs.set('/cutnow', { bytes, etag: '"now"', cutAfter: 25_000, cuts: 1, cutDelay: 0 });
    const { t, store } = engine('cutnow');
    await t.fetch({ url: `${base}/cutnow`, digest: sha(bytes), size: bytes.length, subject: 'cut at once' });
    const reqs = srv.seen.filter((s) => s.path === '/cutnow');
    expect(reqs.map((r) => [r.status, r.range])).toEqual([[200, undefined], [206, 'bytes=25000-']]);
    expect(await store.has(sha(bytes))).toBe(true);
  });

  it('starts over when the server has no validator to resume against', async () => {
    blobs.set('/noetag', { bytes: big, cutAfter: 50_000, cuts: 1 });
    const { t } = engine('noetag');
    await t.fetch({ url: `${base}/noetag`, digest: sha(big), size: big.length, subject: 'no etag' });
    const reqs = srv.seen.filter((s) => s.path === '/noetag');
    expect(reqs.map((r) => [r.status, r.range])).toEqual([[200, undefined], [200, undefined]]);
  });

  it('keeps the bytes of a run that gave up, and the next run resumes them; sweep removes partials nobody asked for', async () => {
    const other = Buffer.alloc(200_000, 3);
    blobs.set('/later', { bytes: other, etag: '"later"', cutAfter: 120_000, cuts: 1 });
    const first = engine('nextrun', { retries: 0 });
    await expect(first.t.fetch({ url: `${base}/later`, digest: sha(other), size: other.length, subject: 'later' })).rejects.toBeInstanceOf(UpstreamError);
    const partials = join(dir, 'nextrun', 'partial');
    expect((await readdir(partials)).sort()).toEqual([sha(other).slice(7), sha(other).slice(7) + '.json']);
    await mkdir(partials, { recursive: true });
    await writeFile(join(partials, 'f'.repeat(64)), 'stale');
    const second = engine('nextrun');
    await second.t.fetch({ url: `${base}/later`, digest: sha(other), size: other.length, subject: 'later' });
    const reqs = srv.seen.filter((s) => s.path === '/later');
    expect(reqs.map((r) => r.status)).toEqual([200, 206]);
    expect(reqs[1].range).toBe('bytes=120000-');
    await second.t.sweep();
    expect(await readdir(partials)).toEqual([]);
  });

  it('fails at once on wrong bytes, keeps nothing, and checks upstream integrity data too', async () => {
    const bytes = Buffer.from('the real bytes');
    blobs.set('/bad', { bytes, etag: '"b"' });
    const { t, store } = engine('bad');
    await expect(t.fetch({ url: `${base}/bad`, digest: sha(Buffer.from('other')), subject: 'bad blob' })).rejects.toBeInstanceOf(IntegrityError);
    expect(srv.seen.filter((s) => s.path === '/bad')).toHaveLength(1);
    expect(await readdir(join(dir, 'bad', 'partial'))).toEqual([]);
    const sri = createHash('sha512').update(Buffer.from('nope')).digest('base64');
    await expect(t.fetch({ url: `${base}/bad`, integrity: { algorithm: 'sha512', value: sri, encoding: 'base64', source: 'dist.integrity' }, subject: 'npm x' })).rejects.toThrow(/dist.integrity mismatch/);
    const good = createHash('sha512').update(bytes).digest('base64');
    const d = await t.fetch({ url: `${base}/bad`, integrity: { algorithm: 'sha512', value: good, encoding: 'base64', source: 'dist.integrity' }, subject: 'npm x' });
    expect(d?.digest).toBe(sha(bytes));
    expect(await store.has(sha(bytes))).toBe(true);
  });

  it('downloads a blob two artifacts ask for at once only once, and never runs more than the limit', async () => {
    const many = Array.from({ length: 8 }, (_, i) => Buffer.from(`blob number ${i} `.repeat(1000)));
    many.forEach((b, i) => blobs.set(`/many/${i}`, { bytes: b, etag: `"m${i}"` }));
    const before = srv.seen.length;
    srv.resetMax();
    const { t } = engine('limit', { concurrency: 2 });
    const asks = [...many.map((b, i) => ({ b, i })), { b: many[0], i: 0 }, { b: many[1], i: 1 }];
    await Promise.all(asks.map(({ b, i }) => t.fetch({ url: `${base}/many/${i}`, digest: sha(b), size: b.length, subject: `blob ${i}` })));
    expect(srv.seen.length - before).toBe(8);
    expect(srv.maxActive).toBe(2);
    // The limit is the engine's own: two at a time, counted while they ran.
    let active = 0;
    let max = 0;
    await Promise.all(Array.from({ length: 6 }, () => t.run(async () => {
      max = Math.max(max, ++active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
    })));
    expect(max).toBe(2);
  });

  it('answers absentOn statuses with undefined and names the URL for others', async () => {
    const { t } = engine('absent');
    expect(await t.fetch({ url: `${base}/nope`, subject: 'x', absentOn: [404] })).toBeUndefined();
    await expect(t.fetch({ url: `${base}/nope2`, subject: 'x', statusHint: () => 'gone upstream' })).rejects.toThrow(/HTTP 404/);
  });
});
