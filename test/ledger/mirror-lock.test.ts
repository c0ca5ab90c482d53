/**
 * Issue 18 item 7: one ledger per target (docs/ledger.md "One ledger per target"). A `dir:` mirror is
 * locked for the run (`<mirror>/.airgap-lock`): a second unpack with another ledger into the same mirror
 * exits 1 at once naming the holder, and writes nothing. The mirror remembers the ledger that last pushed
 * into it (`<mirror>/.airgap-ledger-id`); a run with another ledger, or with a ledger that lacks that
 * record (restored from an older copy), warns.
 */
import { copyFile, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { airgapBin, runAirgap } from '../harness/index.js';
import { type Fixture, fixture, ledgerLines, stopWhen } from './fixtures.js';

let f: Fixture;
let bundle: string;
let small: string;

beforeAll(async () => {
  f = await fixture();
  const names = await f.files('lock', 40, 4096);
  bundle = (await f.pack(await f.manifest('lock.yaml', 'lock', names.map((url) => ({ url, path: 'lock/' }))), 'out-lock')).bundle;
  const more = await f.files('more', 1);
  small = (await f.pack(await f.manifest('more.yaml', 'more', more.map((url) => ({ url, path: 'more/' }))), 'out-more')).bundle;
});

describe('the mirror lock', () => {
  it('a second unpack with another ledger into the same dir mirror exits 1 naming the holder, and writes nothing', async () => {
    const mirror = join(f.work, 'mirror');
    const ledgerA = join(f.work, 'a.jsonl');
    const ledgerB = join(f.work, 'b.jsonl');
    const first = execa(process.execPath, [airgapBin, ...f.unpackArgs(bundle, `dir:${mirror}`, ledgerA, ['--concurrency', '1'])], { cwd: f.work, reject: false, stdin: 'ignore', env: { NO_COLOR: '1' } });
    await stopWhen(first, async () => (await readdir(mirror).catch(() => [] as string[])).includes('.airgap-lock'));
    let filesAtStop: string[];
    try {
      const holder = JSON.parse(await readFile(join(mirror, '.airgap-lock'), 'utf8'));
      expect(holder.pid).toBe(first.pid);
      filesAtStop = await readdir(join(mirror, 'files', 'lock')).catch(() => []);
      const second = await runAirgap(f.unpackArgs(bundle, `dir:${mirror}`, ledgerB), { cwd: f.work });
      expect(second.exitCode).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`mirror .*/mirror is locked by pid ${first.pid} on \\S+ \\(since .*airgap unpack`));
      expect(await ledgerLines(ledgerB)).toEqual([]);
      expect(await readdir(join(mirror, 'files', 'lock')).catch(() => [])).toEqual(filesAtStop);
      expect(JSON.parse(await readFile(join(mirror, '.airgap-lock'), 'utf8')).pid).toBe(first.pid);
    } finally {
      first.kill('SIGCONT');
    }
    const r = await first;
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await readdir(join(mirror, 'files', 'lock'))).filter((n) => !n.startsWith('.'))).toHaveLength(40);
    await expect(stat(join(mirror, '.airgap-lock'))).rejects.toThrow();
    const v = await runAirgap(['ledger', 'verify', ledgerA]);
    expect(v.exitCode, v.stderr).toBe(0);

    // The mirror names the ledger that pushed into it; a run with another ledger warns.
    const marker = JSON.parse(await readFile(join(mirror, '.airgap-ledger-id'), 'utf8'));
    const a = await ledgerLines(ledgerA);
    expect(marker).toMatchObject({ path: ledgerA, seq: a.length });
    const other = await runAirgap(f.unpackArgs(bundle, `dir:${mirror}`, ledgerB), { cwd: f.work });
    expect(other.exitCode, other.stderr).toBe(0);
    expect(other.stderr).toMatch(new RegExp(`mirror .*/mirror was last published with another ledger \\(ledger ${ledgerA.replace(/[.]/g, '\\.')} on \\S+, seq ${a.length} at .*\\), not .*b\\.jsonl; one ledger per target is the rule`));
    // Its own ledger does not warn.
    const same = await runAirgap(f.unpackArgs(bundle, `dir:${mirror}`, ledgerA), { cwd: f.work });
    expect(same.exitCode, same.stderr).toBe(0);
    expect(same.stderr).not.toMatch(/another ledger|is not in/);
  });

  it('a ledger restored from an older copy is warned that the mirror\'s newest record is not in it', async () => {
    const mirror = join(f.work, 'mirror-restored');
    const ledger = join(f.work, 'r.jsonl');
    expect((await runAirgap(f.unpackArgs(small, `dir:${mirror}`, ledger), { cwd: f.work })).exitCode).toBe(0);
    await copyFile(ledger, `${ledger}.bak`);
    await copyFile(`${ledger}.head`, `${ledger}.head.bak`);
    expect((await runAirgap(f.unpackArgs(bundle, `dir:${mirror}`, ledger), { cwd: f.work })).exitCode).toBe(0);
    await copyFile(`${ledger}.bak`, ledger);
    await copyFile(`${ledger}.head.bak`, `${ledger}.head`);
    const r = await runAirgap(f.unpackArgs(small, `dir:${mirror}`, ledger), { cwd: f.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/mirror .*mirror-restored: its newest ledger record \(ledger .*r\.jsonl on \S+, seq \d+ at .*\) is not in .*r\.jsonl: this ledger was restored from an older copy/);
  });
});
