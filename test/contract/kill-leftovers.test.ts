/**
 * What a run killed with SIGKILL leaves behind (docs/design.md "Atomic files", docs/transfers.md):
 * - killed mid-unpack of a large file to `dir:`: no temporary file under a published folder (temp names
 *   live in `<mirror>/.airgap-tmp/`, emptied when the next unpack starts), no zero-length or partial file
 *   under a final name, and the re-run publishes it without refusing anything as "different content";
 * - killed mid-download at pack: the re-run downloads only the rest (a Range request from the bytes the
 *   partial holds; bytes counted at the server).
 * Both through the CLI, as an operator's cron job would run it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airgapBin, runAirgap, runAirgapJson, tempDir } from '../harness/index.js';

interface RangeServer {
  url: string;
  /** Body bytes written to clients, per path. */
  sent: Map<string, number>;
  ranges: string[];
  close(): Promise<void>;
}

/** A static server for a few in-memory files, with a strong ETag, `Range`/`If-Range`, and a byte rate per file. */
async function startRangeServer(files: Record<string, { bytes: Buffer; bytesPerSecond?: number }>): Promise<RangeServer> {
  const sent = new Map<string, number>();
  const ranges: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const f = files[path];
    if (!f) return void res.writeHead(404).end();
    const etag = `"${createHash('sha256').update(f.bytes).digest('hex').slice(0, 16)}"`;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    if (range && (!req.headers['if-range'] || req.headers['if-range'] === etag)) start = Number(range[1]);
    if (req.headers.range) ranges.push(String(req.headers.range));
    const headers = { etag, 'accept-ranges': 'bytes', 'content-length': String(f.bytes.length - start), 'content-type': 'application/octet-stream' };
    if (start > 0) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${f.bytes.length - 1}/${f.bytes.length}` });
    else res.writeHead(200, headers);
    if (req.method === 'HEAD') return void res.end();
    const chunk = 64 << 10;
    let at = start;
    const tick = () => {
      if (res.destroyed) return;
      if (at >= f.bytes.length) return void res.end();
      const piece = f.bytes.subarray(at, at + chunk);
      at += piece.length;
      sent.set(path, (sent.get(path) ?? 0) + piece.length);
      const more = res.write(piece);
      const next = () => (f.bytesPerSecond ? setTimeout(tick, (piece.length / f.bytesPerSecond) * 1000) : setImmediate(tick));
      if (more) next();
      else res.once('drain', next);
    };
    tick();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    sent, ranges,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Every file below `root` (relative paths), folders skipped by `skip`. */
async function filesBelow(root: string, skip: (rel: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  const go = async (rel: string) => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true }).catch(() => [])) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skip(r)) continue;
      if (e.isDirectory()) await go(r);
      else out.push(r);
    }
  };
  await go('');
  return out.sort();
}

/** Start the CLI, call `until` every few ms, SIGKILL the process when it says so; fails if the run ends first. */
async function killWhen(args: string[], cwd: string, until: () => Promise<boolean>): Promise<void> {
  const child = execa(process.execPath, [airgapBin, ...args], { cwd, reject: false, stdin: 'ignore', env: { NO_COLOR: '1' } });
  let ended = false;
  void child.then(() => { ended = true; });
  for (;;) {
    if (ended) throw new Error(`airgap ${args[0]} finished before it could be killed: ${(await child).stderr}`);
    if (await until()) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill('SIGKILL');
  const r = await child;
  expect(r.signal).toBe('SIGKILL');
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let work: string;
let keys: string;
let server: RangeServer;
const big = randomBytes(96 << 20);
const slow = randomBytes(12 << 20);

beforeAll(async () => {
  work = await tempDir('airgap-kill-');
  keys = join(work, 'keys');
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  server = await startRangeServer({ '/big.bin': { bytes: big }, '/slow.bin': { bytes: slow, bytesPerSecond: 3 << 20 } });
});

afterAll(async () => {
  await server?.close();
});

describe('kill -9 mid-unpack of a large file to dir:', () => {
  it('leaves no temp file under a published folder and no partial file under its name; the re-run publishes it', async () => {
    await writeFile(join(work, 'big.yaml'), `apiVersion: airgap/v1\nkind: Bundle\nname: big\nfiles:\n  - url: ${server.url}big.bin\n    path: blobs/big.bin\n    sha256: ${sha(big)}\n`);
    const p = await runAirgapJson<{ bundle: string }>(['pack', join(work, 'big.yaml'), '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache-big')], { cwd: work });
    expect(p.exitCode, p.stderr).toBe(0);
    const mirror = join(work, 'mirror');
    const ledger = join(work, 'ledger.jsonl');
    const unpackArgs = ['unpack', p.json.bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', ledger];
    const tmpDir = join(mirror, '.airgap-tmp');

    // Killed while the file's bytes are being written (a temporary file with bytes in it exists).
    await killWhen(unpackArgs, work, async () => {
      for (const f of await readdir(tmpDir).catch(() => [] as string[])) if (((await stat(join(tmpDir, f)).catch(() => undefined))?.size ?? 0) > 0) return true;
      return false;
    });
    // The published folders (files/, …); the mirror's own dot files beside them (.airgap-tmp/, the dir target's lock) are not.
    const published = await filesBelow(mirror, (r) => !r.includes('/') && r.startsWith('.'));
    // Nothing temporary beside the published files, and the final name is either absent or complete.
    expect(published.filter((f) => f.includes('.airgap-') || f.endsWith('.tmp'))).toEqual([]);
    expect(published).not.toContain('files/blobs/big.bin');
    expect((await filesBelow(tmpDir)).length).toBeGreaterThan(0);

    const again = await runAirgapJson<{ counts: Record<string, number>; failures: unknown[] }>(unpackArgs, { cwd: work });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/different content/);
    expect(again.json.failures).toEqual([]);
    expect(again.json.counts).toEqual({ pushed: 1 });
    expect(sha(await readFile(join(mirror, 'files', 'blobs', 'big.bin')))).toBe(sha(big));
    // The killed run's temporary file was removed when the re-run started; its own was renamed into place.
    expect(await filesBelow(tmpDir)).toEqual([]);
    expect(await filesBelow(mirror, (r) => !r.includes('/') && r.startsWith('.'))).toEqual(['files/blobs/big.bin']);
  });
});

describe('kill -9 mid-download at pack', () => {
  it('the re-run downloads only the rest (Range from the partial; bytes counted at the server)', async () => {
    await writeFile(join(work, 'slow.yaml'), `apiVersion: airgap/v1\nkind: Bundle\nname: slow\nfiles:\n  - url: ${server.url}slow.bin\n    path: slow.bin\n`);
    const cache = join(work, 'cache-slow');
    const packArgs = ['pack', join(work, 'slow.yaml'), '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', cache];
    const partialSize = async () => {
      let n = 0;
      for (const f of await readdir(join(cache, 'partial')).catch(() => [] as string[])) if (!f.endsWith('.json')) n += (await stat(join(cache, 'partial', f)).catch(() => undefined))?.size ?? 0;
      return n;
    };
    await killWhen(packArgs, work, async () => (await partialSize()) >= slow.length / 3);
    const kept = await partialSize();
    expect(kept).toBeGreaterThanOrEqual(slow.length / 3);
    expect(kept).toBeLessThan(slow.length);
    const sentBefore = server.sent.get('/slow.bin') ?? 0;
    server.ranges.length = 0;

    const r = await runAirgapJson<{ bundle: string }>(packArgs, { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    // Exactly the missing bytes crossed the wire the second time, asked for from where the partial ended.
    expect(server.ranges).toEqual([`bytes=${kept}-`]);
    expect((server.sent.get('/slow.bin') ?? 0) - sentBefore).toBe(slow.length - kept);
    const v = await runAirgap(['verify', r.json.bundle, '--pub', join(keys, 'outside.pub')], { cwd: work });
    expect(v.exitCode, v.stderr).toBe(0);
    const mirror = join(work, 'mirror-slow');
    const u = await runAirgap(['unpack', r.json.bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', join(work, 'ledger-slow.jsonl')], { cwd: work });
    expect(u.exitCode, u.stderr).toBe(0);
    expect(sha(await readFile(join(mirror, 'files', 'slow.bin')))).toBe(sha(slow));
  });
});
