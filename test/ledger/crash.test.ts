/**
 * Issue 3 "must show": kill -9 during unpack and pack, then run again; concurrent runs and their locks.
 * The killed process is first stopped (SIGSTOP) at the moment the test sees it mid-way, so what it had
 * done is read while it cannot go on, then killed (SIGKILL) as a crash would.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { airgapBin, runAirgap } from '../harness/index.js';
import { type Fixture, fixture, ledgerLines, stopWhen } from './fixtures.js';

let f: Fixture;
let names: string[];
let bundle: string;
const COUNT = 150;

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

function start(args: string[]): ResultPromise {
  return execa(process.execPath, [airgapBin, ...args], { cwd: f.work, reject: false, stdin: 'ignore', env: { NO_COLOR: '1' } });
}

beforeAll(async () => {
  f = await fixture();
  names = await f.files('many', COUNT, 4096);
  const m = await f.manifest('many.yaml', 'many', names.map((url) => ({ url, path: 'many/' })));
  bundle = (await f.pack(m, 'out-many')).bundle;
});

describe('kill -9 during unpack', () => {
  it('a re-run finishes, pushes nothing twice, and the ledger chain is valid', async () => {
    const mirror = join(f.work, 'mirror-kill');
    const ledger = join(f.work, 'kill-ledger.jsonl');
    const child = start(f.unpackArgs(bundle, `dir:${mirror}`, ledger, ['--concurrency', '1']));
    await stopWhen(child, async () => (await ledgerLines(ledger)).filter((r) => r.action === 'pushed').length >= 3, f.work);
    const atKill = (await ledgerLines(ledger)).filter((r) => r.action === 'pushed').length;
    child.kill('SIGKILL');
    const killed = await child;
    expect(killed.signal).toBe('SIGKILL');
    expect(atKill).toBeGreaterThanOrEqual(3);
    expect(atKill).toBeLessThan(COUNT);

    const again = await runAirgap(f.unpackArgs(bundle, `dir:${mirror}`, ledger, ['--concurrency', '1']), { cwd: f.work });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/took over the stale lock on ledger .*: pid \d+ .* is gone/);

    const v = await runAirgap(['ledger', 'verify', ledger]);
    expect(v.exitCode, v.stderr).toBe(0);

    const records = await ledgerLines(ledger);
    const pushed = records.filter((r) => r.action === 'pushed').map((r) => r.digest);
    expect(new Set(pushed).size).toBe(pushed.length);
    const runs = [...new Set(records.map((r) => r.run))];
    expect(runs).toHaveLength(2);
    const second = records.filter((r) => r.run === runs[1] && r.kind === 'file');
    expect(second).toHaveLength(COUNT);
    expect(second.filter((r) => r.action === 'present').length).toBeGreaterThanOrEqual(atKill);
    expect(new Set([...pushed, ...second.map((r) => r.digest)]).size).toBe(COUNT);

    const published = (await readdir(join(mirror, 'files', 'many'))).filter((n) => !n.startsWith('.'));
    expect(published.sort()).toEqual(names.map((n) => n.split('/')[1]).sort());
    for (const n of names) {
      expect(sha256(await readFile(join(mirror, 'files', n)))).toBe(sha256(await readFile(join(f.work, n))));
    }
  });
});

describe('locks', () => {
  it('a second unpack against the same ledger exits 1 at once naming the first one\'s pid', async () => {
    const ledger = join(f.work, 'lock-ledger.jsonl');
    const first = start(f.unpackArgs(bundle, `dir:${join(f.work, 'mirror-lock')}`, ledger, ['--concurrency', '1']));
    await stopWhen(first, async () => (await ledgerLines(ledger)).some((r) => r.action === 'start'), f.work);
    try {
      const second = await runAirgap(f.unpackArgs(bundle, `dir:${join(f.work, 'mirror-lock2')}`, ledger), { cwd: f.work });
      expect(second.exitCode).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`ledger .*lock-ledger\\.jsonl is locked by pid ${first.pid} on `));
      expect(await ledgerLines(ledger).then((l) => l.filter((r) => r.action === 'start'))).toHaveLength(1);
    } finally {
      first.kill('SIGCONT');
    }
    const r = await first;
    expect(r.exitCode, r.stderr).toBe(0);
    const v = await runAirgap(['ledger', 'verify', ledger]);
    expect(v.exitCode, v.stderr).toBe(0);
  });

  it('a second pack into the same --out exits 1 naming the first one\'s pid', async () => {
    const out = join(f.work, 'out-lock');
    const m = join(f.work, 'many.yaml');
    const packArgs = ['pack', m, '--out', out, '--key', join(f.keys, 'outside.key'), '--cache', join(f.work, 'cache-lock')];
    const first = start(packArgs);
    await stopWhen(first, async () => (await readdir(out).catch(() => [])).includes('.airgap-pack.lock'), f.work);
    try {
      const second = await runAirgap(packArgs, { cwd: f.work });
      expect(second.exitCode).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`pack output folder .*out-lock is locked by pid ${first.pid} on `));
    } finally {
      first.kill('SIGCONT');
    }
    const r = await first;
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await readdir(out)).filter((d) => d.startsWith('many-'))).toHaveLength(1);
  });
});

describe('kill -9 during pack', () => {
  it('leaves no bundle; the next pack removes the unfinished one and writes a bundle that verifies', async () => {
    const big = await f.files('big', 24, 1 << 20);
    const m = await f.manifest('big.yaml', 'big', big.map((url) => ({ url, path: 'big/' })));
    const out = join(f.work, 'out-big');
    const packArgs = ['pack', m, '--out', out, '--key', join(f.keys, 'outside.key'), '--cache', join(f.work, 'cache-big'), '--chunk-size', '4MiB'];
    const child = start(packArgs);
    await stopWhen(child, async () => (await readdir(out).catch(() => [] as string[])).some((d) => d.includes('.partial-')), f.work);
    child.kill('SIGKILL');
    await child;
    const left = await readdir(out);
    expect(left.filter((d) => d.startsWith('big-'))).toEqual([]);
    expect(left.filter((d) => d.includes('.partial-'))).toHaveLength(1);
    // The download cache survives the kill: every file is already in it.
    const cached = await readdir(join(f.work, 'cache-big', 'blobs', 'sha256'));
    expect(cached).toHaveLength(24);

    const again = await runAirgap([...packArgs, '--json'], { cwd: f.work });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/removing .*\.partial-[0-9a-f]+: the unfinished bundle of a pack that was killed/);
    expect(again.stderr).toMatch(/took over the stale lock on pack output folder/);
    const after = await readdir(out);
    expect(after.filter((d) => d.includes('.partial-'))).toEqual([]);
    expect(after.filter((d) => d.startsWith('big-'))).toHaveLength(1);
    const v = await runAirgap(['verify', JSON.parse(again.stdout).bundle, '--pub', join(f.keys, 'outside.pub')]);
    expect(v.exitCode, v.stderr).toBe(0);
  });
});
