/**
 * Issue 18 item 8: the ledger head anchor `<ledger>.head` (docs/ledger.md "The head anchor"). A ledger cut
 * short keeps its head; verify, receipt and unpack refuse it (exit 3, naming how many records are missing)
 * until `unpack --repair-ledger`, which goes on and records the repair.
 */
import { createHash } from 'node:crypto';
import { copyFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson } from '../harness/index.js';
import { type Fixture, fixture, ledgerLines } from './fixtures.js';

let f: Fixture;
let bundle: string;
let ledger: string;
let lines: string[];
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

beforeAll(async () => {
  f = await fixture();
  const names = await f.files('h', 3);
  const m = await f.manifest('h.yaml', 'head', names.map((url) => ({ url, path: 'h/' })));
  bundle = (await f.pack(m, 'out-h')).bundle;
  ledger = join(f.work, 'ledger.jsonl');
  const u = await runAirgap(f.unpackArgs(bundle, `dir:${join(f.work, 'mirror')}`, ledger), { cwd: f.work });
  expect(u.exitCode, u.stderr).toBe(0);
  lines = (await readFile(ledger, 'utf8')).split('\n').slice(0, -1);
});

/** A copy of the ledger and its head with the last `cut` lines removed. */
async function cutCopy(name: string, cut: number): Promise<string> {
  const p = join(f.work, name);
  await writeFile(p, lines.slice(0, lines.length - cut).join('\n') + '\n');
  await copyFile(`${ledger}.head`, `${p}.head`);
  return p;
}

describe('the head anchor', () => {
  it('holds the seq and sha256 of the last record after a run', async () => {
    const head = JSON.parse(await readFile(`${ledger}.head`, 'utf8'));
    expect(head.seq).toBe(lines.length);
    expect(head.sha256).toBe(sha256(lines.at(-1)!));
    const v = await runAirgap(['ledger', 'verify', ledger]);
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.stdout).toContain(`head seq ${lines.length} holds`);
  });

  it('a ledger cut short is refused by verify and receipt (exit 3), naming how many records are missing', async () => {
    const p = await cutCopy('cut-verify.jsonl', 3);
    const v = await runAirgap(['ledger', 'verify', p]);
    expect(v.exitCode).toBe(3);
    expect(v.stderr).toMatch(new RegExp(`3 records are missing: its head .*cut-verify\\.jsonl\\.head says the last record is seq ${lines.length}.*the ledger ends at seq ${lines.length - 3}`));
    const r = await runAirgap(['ledger', 'receipt', p, '--out', join(f.work, 'no-receipt.json')]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/3 records are missing/);
  });

  it('a rewritten last record is refused too (the head no longer matches it)', async () => {
    const p = join(f.work, 'rewritten.jsonl');
    await writeFile(p, [...lines.slice(0, -1), lines.at(-1)!.replace('"end"', '"start"')].join('\n') + '\n');
    await copyFile(`${ledger}.head`, `${p}.head`);
    const v = await runAirgap(['ledger', 'verify', p]);
    expect(v.exitCode).toBe(3);
    expect(v.stderr).toMatch(new RegExp(`the record with seq ${lines.length} no longer hashes to its head`));
  });

  it('unpack refuses a cut ledger (exit 3) before it publishes or writes anything', async () => {
    const p = await cutCopy('cut-unpack.jsonl', 2);
    const before = await readFile(p, 'utf8');
    const mirror = join(f.work, 'mirror-refused');
    const u = await runAirgapJson(f.unpackArgs(bundle, `dir:${mirror}`, p), { cwd: f.work });
    expect(u.exitCode).toBe(3);
    expect(u.json.error.kind).toBe('IntegrityError');
    expect(u.json.error.message).toMatch(/2 records are missing/);
    expect(u.json.error.hint).toMatch(/--repair-ledger/);
    expect(await readFile(p, 'utf8')).toBe(before);
    expect(await readdir(mirror).catch(() => [])).toEqual([]);
  });

  it('unpack --repair-ledger goes on from the last record, keeps the old head and notes the repair', async () => {
    const p = await cutCopy('cut-repair.jsonl', 2);
    const oldHead = await readFile(`${p}.head`, 'utf8');
    const u = await runAirgap(f.unpackArgs(bundle, `dir:${join(f.work, 'mirror')}`, p, ['--repair-ledger']), { cwd: f.work });
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.stderr).toMatch(/--repair-ledger: ledger .*cut-repair\.jsonl: 2 records are missing/);
    const records = await ledgerLines(p);
    const start = records.find((r) => r.seq === lines.length - 1);
    expect(start.action).toBe('start');
    expect(start.note.repairedLedger).toMatchObject({ missing: 2, head: { seq: lines.length } });
    expect(await readFile(start.note.repairedLedger.keptAs, 'utf8')).toBe(oldHead);
    const v = await runAirgap(['ledger', 'verify', p]);
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.stdout).toContain(`head seq ${records.length} holds`);
  });

  it('a ledger from before the head anchor gets one, with a warning', async () => {
    const p = join(f.work, 'legacy.jsonl');
    await copyFile(ledger, p);
    const v0 = await runAirgap(['ledger', 'verify', p]);
    expect(v0.exitCode, v0.stderr).toBe(0);
    expect(v0.stdout).toContain('no head anchor');
    const u = await runAirgap(f.unpackArgs(bundle, `dir:${join(f.work, 'mirror')}`, p), { cwd: f.work });
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.stderr).toMatch(/has no head anchor .*legacy\.jsonl\.head .*writing one now/);
    const head = JSON.parse(await readFile(`${p}.head`, 'utf8'));
    expect(head.seq).toBe((await ledgerLines(p)).length);
  });
});
