/**
 * Byte progress (docs/transfers.md, progress): a throttled upstream on 127.0.0.1 (about 2 MiB/s) serves a
 * 6 MiB file. The real CLI shows bytes / total, rate and ETA on a terminal (tmux, capture-pane), heartbeat
 * lines every --progress-interval in cron mode, falls back to lines on a 0-column pty, and downloads in
 * the download phase, not while "Resolving the manifest".
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airgapBin, runAirgap, tempDir } from '../harness/index.js';

const SIZE = 6 * 1024 * 1024;
const body = randomBytes(SIZE);
let server: Server;
let work: string;
let manifest: string;
let key: string;
let run = 0;

beforeAll(async () => {
  work = await tempDir('airgap-progress-');
  server = createServer((req, res) => {
    if (req.url !== '/big.bin') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(SIZE), 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') return void res.end();
    // 64 KiB every 30 ms: a little over 2 MiB/s.
    let sent = 0;
    const next = () => {
      if (res.destroyed) return;
      if (sent >= SIZE) return void res.end();
      res.write(body.subarray(sent, sent + 65536));
      sent += 65536;
      setTimeout(next, 30);
    };
    next();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/big.bin`;
  manifest = join(work, 'm.yaml');
  await writeFile(manifest, `apiVersion: airgap/v1\nkind: Bundle\nname: progress\nfiles:\n  - url: ${url}\n`);
  const k = await runAirgap(['keygen', '--out-dir', work, '--name', 'k']);
  expect(k.exitCode, k.stderr).toBe(0);
  key = join(work, 'k.key');
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A pack into a fresh out and cache, so every run downloads the whole file. */
const packArgs = () => {
  run++;
  return ['pack', manifest, '--out', join(work, `out-${run}`), '--key', key, '--cache', join(work, `cache-${run}`)];
};

/** Run the CLI in a tmux pane of `cols` columns; returns every screen captured while it ran. */
async function inTmux(args: string[], opts: { sttyCols0?: boolean } = {}): Promise<{ screens: string[]; exit: number }> {
  const session = `airgap-progress-${process.pid}-${run}`;
  const tmux = (...a: string[]) => execa('tmux', ['-L', session, ...a], { reject: false });
  const cmd = `${opts.sttyCols0 ? 'stty cols 0; ' : ''}env -u CI NO_COLOR=1 ${process.execPath} ${airgapBin} ${args.join(' ')}; echo EXIT=$?; sleep 60`;
  await tmux('new-session', '-d', '-x', '150', '-y', '50', cmd);
  const screens: string[] = [];
  try {
    for (let i = 0; i < 1200; i++) {
      const s = (await tmux('capture-pane', '-p', '-S', '-200')).stdout;
      screens.push(s);
      const m = /EXIT=(\d+)/.exec(s);
      if (m) return { screens, exit: Number(m[1]) };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`airgap ${args.join(' ')} did not finish in tmux:\n${screens.at(-1)}`);
  } finally {
    await tmux('kill-server');
  }
}

describe.sequential('byte progress against a throttled upstream', () => {
  it('on a terminal: bytes / total (percent), rate and ETA while the download runs', async () => {
    const { screens, exit } = await inTmux(packArgs());
    expect(exit, screens.at(-1)).toBe(0);
    const live = screens.filter((s) => /Downloading and verifying/.test(s) && /[\d.]+ (KiB|MiB) \/ 6\.00 MiB \(\d+%\), [\d.]+ (KiB|MiB)\/s, ETA \d+ s/.test(s));
    expect(live.length, screens.at(-1)).toBeGreaterThan(0);
    // The bytes grow while it runs.
    const seen = live.map((s) => /([\d.]+) (KiB|MiB) \/ 6\.00 MiB/.exec(s)!).map((m) => Number(m[1]) * (m[2] === 'MiB' ? 1024 : 1));
    expect(Math.max(...seen)).toBeGreaterThan(Math.min(...seen));
    // Nothing downloads while resolving: no screen shows bytes under "Resolving the manifest" still running.
    for (const s of screens) if (!/Downloading and verifying/.test(s)) expect(s).not.toMatch(/MiB \/ 6\.00 MiB/);
  });

  it('in cron mode: a line per finished artifact and a heartbeat with bytes, rate and ETA every --progress-interval', async () => {
    const r = await runAirgap([...packArgs(), '--progress-interval', '500ms']);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    const beats = lines.filter((l) => /^\S+Z Downloading and verifying: .*MiB \/ 6\.00 MiB \(\d+%\), [\d.]+ (KiB|MiB)\/s, ETA \d+ s/.test(l));
    expect(beats.length, r.stderr).toBeGreaterThanOrEqual(2);
    expect(lines.some((l) => /^\S+Z done +file big\.bin/.test(l)), r.stderr).toBe(true);
    // The download is in the download phase: "Resolving" ends before the first byte heartbeat.
    const resolved = lines.findIndex((l) => /Resolving the manifest: done/.test(l));
    expect(resolved).toBeGreaterThanOrEqual(0);
    expect(resolved).toBeLessThan(lines.indexOf(beats[0]));
    expect(lines.filter((l) => /Resolving the manifest/.test(l)).join('\n')).not.toMatch(/MiB/);
    const done = lines.find((l) => /Downloading and verifying: done/.test(l));
    expect(done).toMatch(/6\.00 MiB/);
    // Writing shows its bytes too.
    expect(lines.find((l) => /Writing the bundle: done/.test(l))).toMatch(/6\.00 MiB|MiB/);
  });

  it('a bad --progress-interval is exit 2', async () => {
    const r = await runAirgap([...packArgs(), '--progress-interval', 'soon']);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('--progress-interval');
  });

  it('a 0-column pty falls back to timestamped lines with heartbeats', async () => {
    const { screens, exit } = await inTmux([...packArgs(), '--progress-interval', '1s'], { sttyCols0: true });
    const last = screens.at(-1)!;
    expect(exit, last).toBe(0);
    expect(last).toMatch(/\dZ Resolving the manifest …/);
    expect(last).toMatch(/\dZ Downloading and verifying: .*MiB \/ 6\.00 MiB \(\d+%\)/);
  });
});
