import { mkdtemp, readFile, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusyError, IntegrityError, UsageError, type Logger } from '@airgap/core';
import { Ledger, type LedgerEntry, lineHash, readLedger, scanLedger } from './ledger.js';
import { verifyLedger } from './verify.js';
import { formatLedgerTable, parseSince, showLedger } from './show.js';
import { makeReceipt, readReceipt, receiptKey } from './receipt.js';
import { acquireLock } from './lock.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-ledger-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const digest = (c: string) => 'sha256:' + c.repeat(64);
let n = 0;
const fresh = () => join(dir, `l${++n}.jsonl`);

function entry(over: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    run: 'r1', bundle: { name: 'base', created: '2026-11-20T10:00:00Z', sha256: 'a'.repeat(64) }, signer: 'KEY', kind: 'file',
    name: 'tools/a.bin', version: '', platform: null, digest: digest('1'), size: 10, target: 'dir:/m', action: 'pushed',
    error: null, durationMs: 1, blobs: [digest('1')], ...over,
  };
}

function recordingLog(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, debug() {}, warn: (m: string) => void warnings.push(m) };
}

async function writeLedger(path: string, entries: LedgerEntry[]): Promise<string[]> {
  const l = await Ledger.open(path);
  for (const e of entries) await l.append(e);
  await l.close();
  return (await readFile(path, 'utf8')).split('\n').slice(0, -1);
}

const five = () => [
  entry({ kind: 'run', action: 'start', name: 'base', digest: null, blobs: undefined }),
  entry({ name: 'a', digest: digest('1') }),
  entry({ name: 'b', digest: digest('2'), action: 'present' }),
  entry({ name: 'c', digest: digest('3'), action: 'failed', error: 'boom' }),
  entry({ kind: 'run', action: 'end', name: 'base', digest: null, blobs: undefined }),
];

describe('ledger chain', () => {
  it('appends records with seq from 1 and prev = sha256 of the line before; verify passes', async () => {
    const p = fresh();
    const lines = await writeLedger(p, five());
    const recs = lines.map((l) => JSON.parse(l));
    expect(recs.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(recs[0].prev).toBeNull();
    for (let i = 1; i < 5; i++) expect(recs[i].prev).toBe(lineHash(lines[i - 1]));
    const v = await verifyLedger(p);
    expect(v).toMatchObject({ ok: true, records: 5, fault: null, torn: null, last: { seq: 5, sha256: lineHash(lines[4]) } });
    // Re-opening continues the chain.
    const l = await Ledger.open(p);
    const r6 = await l.append(entry({ name: 'd' }));
    await l.close();
    expect(r6.seq).toBe(6);
    expect(r6.prev).toBe(lineHash(lines[4]));
    expect((await verifyLedger(p)).ok).toBe(true);
  });

  const tampers: [string, (lines: string[]) => string[], number, RegExp][] = [
    ['editing line 3', (l) => l.map((x, i) => (i === 2 ? x.replace('"present"', '"pushed"') : x)), 4, /prev does not match the sha256 of line 3/],
    ['editing line 1', (l) => l.map((x, i) => (i === 0 ? x.replace('"start"', '"end"') : x)), 2, /line 1 was changed/],
    ['deleting line 2', (l) => l.filter((_, i) => i !== 1), 2, /seq is 3, expected 2/],
    ['deleting line 1', (l) => l.slice(1), 1, /seq is 2, expected 1/],
    ['swapping lines 3 and 4', (l) => [l[0], l[1], l[3], l[2], l[4]], 3, /seq is 4, expected 3/],
    ['a middle line that is not JSON', (l) => l.map((x, i) => (i === 1 ? x.slice(0, 20) : x)), 2, /not JSON/],
    ['an empty line', (l) => [l[0], '', ...l.slice(1)], 2, /empty line/],
    ['an edited seq with a consistent chain after it', (l) => l.map((x, i) => (i === 2 ? x.replace('"seq":3', '"seq":9') : x)), 3, /seq is 9, expected 3/],
  ];
  it.each(tampers)('%s is found at the right line', async (_what, tamper, line, why) => {
    const p = fresh();
    const lines = await writeLedger(p, five());
    await writeFile(p, tamper(lines).join('\n') + '\n');
    const v = await verifyLedger(p);
    expect(v.ok).toBe(false);
    expect(v.torn).toBeNull();
    expect(v.fault?.line).toBe(line);
    expect(v.fault?.reason).toMatch(why);
  });

  it('a torn last line (no newline) is reported apart from tampering', async () => {
    const p = fresh();
    const lines = await writeLedger(p, five());
    await appendFile(p, '{"v":1,"seq":6,"time":"2026-11');
    const v = await verifyLedger(p);
    expect(v.ok).toBe(false);
    expect(v.fault).toBeNull();
    expect(v.torn).toMatchObject({ line: 6 });
    expect(v.torn!.reason).toMatch(/no newline/);
    expect(v.records).toBe(5);
    expect(v.last?.sha256).toBe(lineHash(lines[4]));
  });

  it('an unparsable last line is torn too, but an unparsable middle line is a fault', async () => {
    const p = fresh();
    await writeLedger(p, five());
    await appendFile(p, '\u0000\u0000\u0000\n');
    const v = await verifyLedger(p);
    expect(v.fault).toBeNull();
    expect(v.torn?.line).toBe(6);
  });

  it('open() truncates a torn last line with a warning, keeps its bytes aside, and the chain goes on', async () => {
    const p = fresh();
    const lines = await writeLedger(p, five());
    const torn = '{"v":1,"seq":6,"time":"2026-11-2';
    await appendFile(p, torn);
    const log = recordingLog();
    const l = await Ledger.open(p, { log });
    expect(log.warnings.join('\n')).toMatch(/line 6: the last line has no newline.*truncated/);
    const r = await l.append(entry({ name: 'after' }));
    await l.close();
    expect(r.seq).toBe(6);
    expect(r.prev).toBe(lineHash(lines[4]));
    expect(await verifyLedger(p)).toMatchObject({ ok: true, records: 6 });
    const aside = (await readdir(dir)).filter((f) => f.startsWith(p.split('/').pop()! + '.torn-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(dir, aside[0]), 'utf8')).toBe(torn);
  });

  it('open() warns about a fault further up and keeps appending linked to the real last line', async () => {
    const p = fresh();
    const lines = await writeLedger(p, five());
    await writeFile(p, [lines[0], lines[2], lines[3], lines[4]].join('\n') + '\n');
    const log = recordingLog();
    const l = await Ledger.open(p, { log });
    const r = await l.append(entry({ name: 'x' }));
    await l.close();
    expect(log.warnings.join('\n')).toMatch(/line 2: seq is 3, expected 2/);
    expect(r.seq).toBe(6);
    expect(r.prev).toBe(lineHash(lines[4]));
  });

  it('remembers the newest bundle per name, also after a fault', async () => {
    const p = fresh();
    const b = (name: string, created: string) => ({ name, created, sha256: 'b'.repeat(64) });
    await writeLedger(p, [
      entry({ bundle: b('base', '2026-11-20T10:00:00Z') }),
      entry({ bundle: b('base', '2026-11-22T10:00:00Z') }),
      entry({ bundle: b('base', '2026-11-21T10:00:00Z') }),
      entry({ bundle: b('other', '2026-11-01T00:00:00Z') }),
    ]);
    const l = await Ledger.open(p);
    await l.close();
    expect(Object.fromEntries([...l.bundles].map(([k, v]) => [k, v.created]))).toEqual({ base: '2026-11-22T10:00:00Z', other: '2026-11-01T00:00:00Z' });
  });

  it('an anchor from a receipt catches an edited or removed last line, which the chain alone cannot', async () => {
    const p = fresh();
    const lines = await writeLedger(p, five());
    const anchor = { seq: 5, sha256: lineHash(lines[4]) };
    expect((await verifyLedger(p, anchor)).ok).toBe(true);
    await writeFile(p, lines.slice(0, 4).join('\n') + '\n');
    const cut = await verifyLedger(p, anchor);
    expect(cut.fault).toBeNull();
    expect(cut.ok).toBe(false);
    expect(cut.anchor?.reason).toMatch(/no record with seq 5/);
    await writeFile(p, [...lines.slice(0, 4), lines[4].replace('"end"', '"start"')].join('\n') + '\n');
    const edited = await verifyLedger(p, anchor);
    expect(edited.ok).toBe(false);
    expect(edited.anchor?.reason).toMatch(/line 5 \(seq 5\) no longer hashes/);
  });

  it('verify of a missing file is a usage error', async () => {
    await expect(verifyLedger(join(dir, 'nope.jsonl'))).rejects.toBeInstanceOf(UsageError);
  });

  it('readLedger and scanLedger read records without holding the file', async () => {
    const p = fresh();
    await writeLedger(p, five());
    expect((await readLedger(p)).map((r) => r.name)).toEqual(['base', 'a', 'b', 'c', 'base']);
    expect((await scanLedger(join(dir, 'none.jsonl'))).records).toBe(0);
  });
});

describe('ledger show', () => {
  it('filters by bundle and time and prints a table', async () => {
    const p = fresh();
    const l = await Ledger.open(p);
    await l.append(entry({ name: 'old', bundle: { name: 'base', created: '2026-11-01T00:00:00Z', sha256: 'c'.repeat(64) } }));
    await l.append(entry({ name: 'other', bundle: { name: 'extra', created: '2026-11-02T00:00:00Z', sha256: 'c'.repeat(64) }, platform: 'linux/amd64', version: '1.0' }));
    await l.append(entry({ name: 'bad', action: 'failed', error: 'disk full' }));
    await l.close();
    const all = await showLedger(p);
    expect(all.map((r) => r.name)).toEqual(['old', 'other', 'bad']);
    expect((await showLedger(p, { bundle: 'extra' })).map((r) => r.name)).toEqual(['other']);
    expect(await showLedger(p, { since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect((await showLedger(p, { since: parseSince('2026-01-01') })).length).toBe(3);
    const table = formatLedgerTable(all);
    expect(table.split('\n')[0]).toMatch(/^TIME\s+ACTION\s+KIND\s+NAME\s+VERSION\s+PLATFORM\s+TARGET\s+BUNDLE$/);
    expect(table).toMatch(/pushed\s+file\s+other\s+1\.0\s+linux\/amd64\s+dir:\/m\s+extra@2026-11-02T00:00:00Z/);
    expect(table).toContain('error: disk full');
    expect(() => parseSince('yesterday')).toThrow(UsageError);
  });
});

describe('receipts', () => {
  it('list artifacts and blobs pushed or present (not failed), per kind, and the newest bundle per name', async () => {
    const p = fresh();
    const lines = await writeLedger(p, [
      ...five(),
      entry({ kind: 'image', name: 'nginx', version: '1.27', digest: digest('4'), blobs: [digest('5'), digest('6')], target: 'nexus', bundle: { name: 'base', created: '2026-11-23T00:00:00Z', sha256: 'd'.repeat(64) } }),
    ]);
    const r = await makeReceipt(p, { now: new Date('2026-11-24T00:00:00Z') });
    expect(r.schema).toBe('airgap.receipt/v1');
    expect(r.ledger).toEqual({ seq: 6, sha256: lineHash(lines[5]) });
    expect(r.digests).toEqual({ file: [digest('1'), digest('2')], image: [digest('4'), digest('5'), digest('6')] });
    expect(r.artifacts.file.map((a) => a.name)).toEqual(['a', 'b']);
    expect(r.bundles).toEqual({ base: { created: '2026-11-23T00:00:00Z', sha256: 'd'.repeat(64) } });
    const onlyDir = await makeReceipt(p, { target: 'dir:/m' });
    expect(Object.keys(onlyDir.digests)).toEqual(['file']);
    expect(onlyDir.bundles.base.created).toBe('2026-11-20T10:00:00Z');
    expect(receiptKey('file', r.artifacts.file[0])).toBe(['file', 'a', '', '', digest('1')].join('\u0000'));

    const file = join(dir, 'receipt.json');
    await writeFile(file, JSON.stringify(r));
    expect(await readReceipt(file)).toEqual(r);
  });

  it('no receipt from a broken ledger (exit 3), a torn tail is left out with a warning', async () => {
    const p = fresh();
    const lines = await writeLedger(p, five());
    await appendFile(p, '{"v":1,');
    const log = recordingLog();
    expect((await makeReceipt(p, { log })).ledger?.seq).toBe(5);
    expect(log.warnings[0]).toMatch(/line 6/);
    await writeFile(p, [lines[0], lines[2]].join('\n') + '\n');
    await expect(makeReceipt(p)).rejects.toThrow(IntegrityError);
    await expect(makeReceipt(p)).rejects.toThrow(/line 2/);
  });

  it('readReceipt refuses what is not a receipt, naming the field', async () => {
    const f = join(dir, 'bad-receipt.json');
    const cases: [string, RegExp][] = [
      ['not json', /not JSON/],
      ['{"schema":"other"}', /schema is not airgap.receipt\/v1/],
      [JSON.stringify({ schema: 'airgap.receipt/v1', created: 'x' }), /created/],
      [JSON.stringify({ schema: 'airgap.receipt/v1', created: '2026-01-01T00:00:00Z', ledger: null, digests: { file: ['md5:1'] }, artifacts: {}, bundles: {} }), /digests\.file/],
      [JSON.stringify({ schema: 'airgap.receipt/v1', created: '2026-01-01T00:00:00Z', ledger: null, digests: {}, artifacts: { file: [{ name: 1 }] }, bundles: {} }), /artifacts\.file/],
    ];
    for (const [text, why] of cases) {
      await writeFile(f, text);
      await expect(readReceipt(f)).rejects.toThrow(why);
      await expect(readReceipt(f)).rejects.toBeInstanceOf(UsageError);
    }
    await expect(readReceipt(join(dir, 'missing.json'))).rejects.toThrow(/cannot be read/);
  });
});

describe('locks', () => {
  it('a second holder fails at once naming the pid; release frees it', async () => {
    const path = join(dir, 'a.lock');
    const lock = await acquireLock(path, { what: 'ledger x' });
    const err = await acquireLock(path, { what: 'ledger x' }).catch((e) => e);
    expect(err).toBeInstanceOf(BusyError);
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain(`pid ${process.pid} on ${hostname()}`);
    await lock.release();
    const again = await acquireLock(path, { what: 'ledger x' });
    await again.release();
    await expect(readFile(path)).rejects.toThrow();
  });

  it('a lock whose process is gone is taken over with a warning', async () => {
    const path = join(dir, 'b.lock');
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    await new Promise((r) => child.on('exit', r));
    await writeFile(path, JSON.stringify({ pid, host: hostname(), started: '2026-11-24T00:00:00Z', command: 'airgap unpack' }));
    const log = recordingLog();
    const lock = await acquireLock(path, { what: 'ledger y', log });
    expect(log.warnings[0]).toMatch(new RegExp(`stale lock on ledger y: pid ${pid} .* is gone`));
    expect(JSON.parse(await readFile(path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('a reused pid (same pid, another process start time) counts as stale', async () => {
    const path = join(dir, 'c.lock');
    await writeFile(path, JSON.stringify({ pid: process.pid, host: hostname(), started: '2026-11-24T00:00:00Z', procStart: '1', command: 'airgap pack' }));
    const log = recordingLog();
    const lock = await acquireLock(path, { what: 'out z', log });
    expect(log.warnings).toHaveLength(1);
    await lock.release();
  });

  it('a lock held on another host is never taken over', async () => {
    const path = join(dir, 'd.lock');
    await writeFile(path, JSON.stringify({ pid: 1, host: 'elsewhere.invalid', started: '2026-11-24T00:00:00Z', command: 'airgap unpack' }));
    await expect(acquireLock(path, { what: 'ledger w' })).rejects.toThrow(/pid 1 on elsewhere\.invalid.*/);
  });

  it('an empty lock file is held while young', async () => {
    const path = join(dir, 'e.lock');
    await writeFile(path, '');
    await expect(acquireLock(path, { what: 'ledger v' })).rejects.toThrow(/just starting/);
  });
});

describe('concurrent appends', () => {
  it('are serialized: seq and prev stay a chain when unpack appends from parallel workers', async () => {
    const p = fresh();
    const l = await Ledger.open(p);
    const recs = await Promise.all(Array.from({ length: 20 }, (_, i) => l.append(entry({ name: `f${i}` }))));
    await l.close();
    expect(recs.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await verifyLedger(p)).toMatchObject({ ok: true, records: 20 });
  });
});
