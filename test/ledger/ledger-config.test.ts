/**
 * Issue 21 item 9: `ledger verify|show|receipt` without FILE read the config's `ledger:` (docs/ledger.md),
 * the same file unpack appends to; FILE on the command line still wins. Through the real CLI (bin/run.js).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';
import { type Fixture, fixture, ledgerLines } from './fixtures.js';

let f: Fixture;
let site: string;
let configLedger: string;

beforeAll(async () => {
  f = await fixture();
  // The inside host's folder: a config found from the current folder, naming the ledger (relative to the config's folder).
  site = join(f.work, 'site');
  await mkdir(site, { recursive: true });
  await writeFile(join(site, '.airgaprc.yaml'), 'ledger: state/imports.jsonl\n');
  configLedger = join(site, 'state', 'imports.jsonl');
  await mkdir(join(site, 'state'));
  const names = await f.files('c', 2);
  const m = await f.manifest('c.yaml', 'config-ledger', names.map((url) => ({ url, path: 'c/' })));
  const b = await f.pack(m, 'out-c');
  // No --ledger: unpack appends to the config's ledger.
  const u = await runAirgap(['unpack', b.bundle, '--to', `dir:${join(f.work, 'mirror-c')}`, '--pub', join(f.keys, 'outside.pub')], { cwd: site });
  expect(u.exitCode, u.stderr).toBe(0);
  expect((await ledgerLines(configLedger)).filter((r) => r.action === 'pushed')).toHaveLength(2);
});

describe('ledger commands without FILE', () => {
  it('verify checks the ledger named by ledger: in the config found from the current folder', async () => {
    const r = await runAirgapJson(['ledger', 'verify'], { cwd: site });
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = await ledgerLines(configLedger);
    expect(r.json.records).toBe(lines.length);
    const text = await runAirgap(['ledger', 'verify'], { cwd: site });
    expect(text.stdout).toContain(`ledger ${configLedger}: ${lines.length} records, chain intact`);
  });

  it('verify reports a broken config ledger (exit 3), so the config ledger is really the one read', async () => {
    const copy = join(await tempDir('airgap-ledger-config-'), 'site');
    await mkdir(join(copy, 'state'), { recursive: true });
    await writeFile(join(copy, '.airgaprc.yaml'), 'ledger: state/imports.jsonl\n');
    const lines = (await readFile(configLedger, 'utf8')).split('\n');
    const edited = lines[1]!.replace('"action":"push"', '"action":"skip"');
    expect(edited).not.toBe(lines[1]);
    lines[1] = edited;
    await writeFile(join(copy, 'state', 'imports.jsonl'), lines.join('\n'));
    const r = await runAirgap(['ledger', 'verify'], { cwd: copy });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`ledger ${join(copy, 'state', 'imports.jsonl')} line 2: unknown action "skip"`);
  });

  it('show prints the config ledger\'s rows; --config FILE names the config from anywhere', async () => {
    const r = await runAirgapJson(['ledger', 'show'], { cwd: site });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.ledger).toBe(configLedger);
    expect(r.json.rows.filter((row: any) => row.action === 'pushed').map((row: any) => row.name).sort()).toEqual(['c/0000.bin', 'c/0001.bin']);
    const elsewhere = await runAirgapJson(['ledger', 'show', '--config', join(site, '.airgaprc.yaml')], { cwd: f.work });
    expect(elsewhere.exitCode, elsewhere.stderr).toBe(0);
    expect(elsewhere.json.ledger).toBe(configLedger);
  });

  it('receipt is made from the config ledger', async () => {
    const out = join(f.work, 'receipt.json');
    const r = await runAirgapJson(['ledger', 'receipt', '--out', out], { cwd: site });
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = await ledgerLines(configLedger);
    const receipt = JSON.parse(await readFile(out, 'utf8'));
    expect(receipt.ledger.seq).toBe(lines.at(-1).seq);
    expect(receipt.artifacts.file.map((a: any) => a.name).sort()).toEqual(['c/0000.bin', 'c/0001.bin']);
  });

  it('FILE on the command line wins over the config; with no config ledger it is ./airgap-ledger.jsonl', async () => {
    const other = join(f.work, 'other.jsonl');
    const given = await runAirgap(['ledger', 'verify', other], { cwd: site });
    expect(given.exitCode).toBe(2);
    expect(given.stderr).toContain(`ledger ${other} does not exist`);
    const bare = join(f.work, 'bare');
    await mkdir(bare);
    const fallback = await runAirgap(['ledger', 'show'], { cwd: bare });
    expect(fallback.exitCode).toBe(2);
    expect(fallback.stderr).toContain(`ledger ${join(bare, 'airgap-ledger.jsonl')} does not exist`);
  });
});
