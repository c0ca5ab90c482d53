/**
 * Contract (docs/transfers.md "Retries and resuming"): the objects of an S3 tree (`files:` with `s3:`) go
 * through the transfer engine like every other blob, so a connection cut halfway through an object is
 * resumed with `Range: bytes=<cut>-` and `If-Match: <ETag>`, answered 206 by the real server (a one-node
 * Ceph RGW), and the object lands byte for byte in the cache. An object replaced while it downloads is
 * never stitched from two versions: RGW answers the resume 412, the pack fails (exit 1), and the next pack
 * starts over and brings the new version whole. A loopback proxy in front of RGW passes the signed
 * requests through unchanged and cuts the first GET of each object.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AirgapConfig, type TransferProgress, ContentStore, HttpClient, Transfers, silentLogger } from '@airgap/core';
import { ecosystems } from '../../src/ecosystems.js';
import { type GaugeProxy, type ProxiedRequest, runAirgap, startGaugeProxy, tempDir } from '../harness/index.js';
import { type Rgw, startRgw } from '../harness/ceph-rgw.js';
import { createBucket, s3Client } from '../s3/helpers.js';

let rgw: Rgw;
let s3: S3Client;
let work: string;
let keys: string;
let steady: GaugeProxy;
let changing: GaugeProxy;
let metered: GaugeProxy;
const objects = new Map<string, Buffer>();
/** What c.bin becomes while its first GET is cut. */
const replacement = randomBytes(2 << 20);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const env = (): Record<string, string> => ({ RGW_ACCESS_KEY: rgw.accessKey, RGW_SECRET_KEY: rgw.secretKey });
const pathOf = (r: ProxiedRequest) => decodeURIComponent(new URL(r.path, 'http://x').pathname);

beforeAll(async () => {
  work = await tempDir('airgap-s3-resume-');
  rgw = await startRgw();
  s3 = s3Client(rgw);
  for (const b of ['tree', 'moving']) await createBucket(s3, b);
  // A single-part object (MD5 ETag) with the sha256 metadata an airgap s3 target writes, and a multipart one (ETag "…-3").
  const single = randomBytes(3 << 20);
  await s3.send(new PutObjectCommand({ Bucket: 'tree', Key: 'single.bin', Body: single, Metadata: { sha256: sha(single) } }));
  const multi = randomBytes(12 << 20);
  await new Upload({ client: s3, params: { Bucket: 'tree', Key: 'dir/multi.bin', Body: multi }, partSize: 5 << 20 }).done();
  objects.set('/tree/single.bin', single).set('/tree/dir/multi.bin', multi);
  await s3.send(new PutObjectCommand({ Bucket: 'moving', Key: 'c.bin', Body: randomBytes(2 << 20) }));

  const backend = rgw.endpoint + '/';
  steady = await startGaugeProxy(backend, { cutThrough: (p) => p.startsWith('/tree/') });
  // While the first GET of the object is cut, the object is replaced (same size, other bytes).
  changing = await startGaugeProxy(backend, {
    cutThrough: (p) => p === '/moving/c.bin',
    onCut: async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'moving', Key: 'c.bin', Body: replacement }));
    },
  });
  metered = await startGaugeProxy(backend, { cutThrough: (p) => p.startsWith('/tree/') });
  keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  const conn = (p: GaugeProxy) => `{ endpoint: "${p.url.replace(/\/$/, '')}", accessKeyEnv: RGW_ACCESS_KEY, secretKeyEnv: RGW_SECRET_KEY }`;
  await writeFile(join(work, 'airgap.yaml'), `http: { retries: 2 }\ns3:\n  steady: ${conn(steady)}\n  changing: ${conn(changing)}\n`);
  await writeFile(join(work, 'tree.yaml'), 'apiVersion: airgap/v1\nkind: Bundle\nname: tree\nfiles:\n  - url: s3://tree/\n    s3: steady\n');
  await writeFile(join(work, 'moving.yaml'), 'apiVersion: airgap/v1\nkind: Bundle\nname: moving\nfiles:\n  - url: s3://moving/\n    s3: changing\n');
}, 240_000);

afterAll(async () => {
  await Promise.allSettled([steady?.stop(), changing?.stop(), metered?.stop()]);
  s3?.destroy();
  await rgw?.stop();
});

function pack(manifest: string, cache: string) {
  const args = ['pack', join(work, manifest), '--out', join(work, 'out-' + cache), '--key', join(keys, 'outside.key'), '--cache', join(work, cache), '--config', join(work, 'airgap.yaml'), '--json'];
  return runAirgap(args, { cwd: work, env: env() });
}

describe('S3 objects cut off mid-download are resumed (Range + If-Match)', () => {
  it('pack completes; RGW served the rest from the cut with 206; the cache holds the same bytes', async () => {
    const r = await pack('tree.yaml', 'cache-tree');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).artifacts).toBe(2);
    const store = new ContentStore(join(work, 'cache-tree'));
    for (const [path, bytes] of objects) {
      const seen = steady.requests.filter((q) => pathOf(q) === path && q.method === 'GET');
      const cut = seen.find((q) => q.cut);
      expect(cut, `${path}: the proxy cut no GET`).toBeDefined();
      expect(cut!.sent).toBe(Math.floor(bytes.length / 2));
      const resume = seen[seen.indexOf(cut!) + 1];
      expect(resume, `${path}: no request after the cut`).toBeDefined();
      // Where the cut happened, not from 0, for the version whose head is on disk.
      expect(resume.range, path).toBe(`bytes=${cut!.sent}-`);
      expect(resume.ifMatch, path).toMatch(/^"[0-9a-f]{32}(-\d+)?"$/);
      expect(resume.status, path).toBe(206);
      expect(seen.length, `${path}: one cut GET and one resume`).toBe(2);
      const digest = 'sha256:' + sha(bytes);
      expect(await store.has(digest), `${path} in the cache`).toBe(true);
      expect(sha(await readFile(store.path(digest))), path).toBe(sha(bytes));
    }
  }, 300_000);

  it('an object replaced during the download is never stitched: 412 on the resume, exit 1; the next pack brings the new version whole', async () => {
    const r = await pack('moving.yaml', 'cache-moving');
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toContain('s3://moving/c.bin was replaced after it was listed');
    const gets = changing.requests.filter((q) => pathOf(q) === '/moving/c.bin' && q.method === 'GET');
    const cut = gets.find((q) => q.cut)!;
    expect(cut).toBeDefined();
    const after = gets.slice(gets.indexOf(cut) + 1);
    expect(after[0]).toMatchObject({ range: `bytes=${cut.sent}-`, status: 412 });
    // The start-over asks for the listed version, which is gone too: refused, not served.
    expect(after[1].range).toBeUndefined();
    expect(after[1].status).toBe(412);
    expect(after.some((q) => q.status === 200 || q.status === 206)).toBe(false);

    const again = await pack('moving.yaml', 'cache-moving');
    expect(again.exitCode, again.stderr).toBe(0);
    const store = new ContentStore(join(work, 'cache-moving'));
    expect(sha(await readFile(store.path('sha256:' + sha(replacement))))).toBe(sha(replacement));
    const rerun = changing.requests.filter((q) => pathOf(q) === '/moving/c.bin' && q.method === 'GET').slice(gets.length);
    // The half kept from the old version is asked for once more (If-Match its ETag), refused, then the new one whole.
    expect(rerun.map((q) => [q.range ?? 'whole', q.status])).toEqual([[`bytes=${cut.sent}-`, 412], ['whole', 200]]);
  }, 300_000);

  it('byte progress for every object: start, resumed at the cut, done with the whole size', async () => {
    // The files source with a transfer engine of its own, as pack builds it, to see the progress events.
    const store = new ContentStore(join(work, 'cache-metered'));
    const events: TransferProgress[] = [];
    const http = new HttpClient({ retries: 2, proxy: 'none' });
    const progress = (e: { type: string }) => void (e.type === 'transfer' && events.push(e as TransferProgress));
    const config: AirgapConfig = { s3: { metered: { endpoint: metered.url.replace(/\/$/, ''), accessKeyEnv: 'RGW_METERED_ACCESS', secretKeyEnv: 'RGW_METERED_SECRET' } } };
    Object.assign(process.env, { RGW_METERED_ACCESS: rgw.accessKey, RGW_METERED_SECRET: rgw.secretKey });
    try {
      await ecosystems.load('all');
      const files = ecosystems.forManifestKey('files')!;
      const ctx = {
        store, http, config, log: silentLogger, progress, manifestDir: work, concurrency: 2, dryRun: false,
        transfer: new Transfers({ store, http, concurrency: 2, progress, log: silentLogger, progressEvery: 1 }),
      };
      for (const a of await files.source.resolve({ url: 's3://tree/', s3: 'metered' }, ctx)) await files.source.fetch(a, ctx);
    } finally {
      delete process.env.RGW_METERED_ACCESS;
      delete process.env.RGW_METERED_SECRET;
    }
    for (const [path, bytes] of objects) {
      const cut = metered.requests.find((q) => pathOf(q) === path && q.cut);
      expect(cut, path).toBeDefined();
      const mine = events.filter((e) => e.direction === 'download' && e.subject === `s3:/${path}`);
      expect(mine.map((e) => e.state), path).toEqual(expect.arrayContaining(['start', 'progress', 'resumed', 'done']));
      expect(mine.find((e) => e.state === 'resumed')!.done, path).toBe(cut!.sent);
      expect(mine.find((e) => e.state === 'done')!.done, path).toBe(bytes.length);
      expect(mine.every((e) => e.total === bytes.length), path).toBe(true);
    }
  }, 300_000);
});
