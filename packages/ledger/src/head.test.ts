import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError, type Logger } from '@airgap/core';
import { Ledger, type LedgerEntry, lineHash, scanLedger } from './ledger.js';
import { headPath } from './head.js';
import { verifyLedger } from './verify.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-ledger-head-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
let n = 0;
const fresh = () => join(dir, `h${++n}.jsonl`);
const digest = (c: string) => 'sha256:' + c.repeat(64);
const entry = (over: Partial<LedgerEntry> = {}): LedgerEntry => ({
  run: 'r1', bundle: { name: 'b', created: '2026-11-20T10:00:00Z', sha256: 'a'.repeat(64) }, signer: 'KEY', kind: 'file',
  name: 'x.bin', version: '', platform: null, digest: digest('1'), size: 1, target: 'dir:/m', action: 'pushed', error: null, durationMs: 1, ...over,
});
const quiet = (): Logger & { warnings: string[] } => {
  const warnings: string[] = [];
  return { warnings, info() {}, debug() {}, warn: (m: string) => void warnings.push(m) };
};

describe('head anchor', () => {
  it('follows every append', async () => {
    const p = fresh();
    const l = await Ledger.open(p);
    await l.append(entry());
    await l.append(entry({ name: 'y.bin' }));
    await l.close();
    const lines = (await readFile(p, 'utf8')).trim().split('\n');
    expect(JSON.parse(await readFile(headPath(p), 'utf8'))).toMatchObject({ seq: 2, sha256: lineHash(lines[1]) });
    expect((await verifyLedger(p)).head).toMatchObject({ ok: true });
  });

  it('a cut ledger: Ledger.open refuses it (IntegrityError naming the count), repair: true accepts it and re-anchors', async () => {
    const p = fresh();
    const l = await Ledger.open(p);
    for (const name of ['a', 'b', 'c', 'd']) await l.append(entry({ name }));
    await l.close();
    const lines = (await readFile(p, 'utf8')).trim().split('\n');
    await writeFile(p, lines.slice(0, 1).join('\n') + '\n');
    await expect(Ledger.open(p)).rejects.toThrow(IntegrityError);
    await expect(Ledger.open(p)).rejects.toThrow(/3 records are missing/);
    expect((await verifyLedger(p)).ok).toBe(false);
    const log = quiet();
    const r = await Ledger.open(p, { repair: true, log });
    expect(r.repaired).toMatchObject({ missing: 3, head: { seq: 4 } });
    await r.close();
    expect(JSON.parse(await readFile(headPath(p), 'utf8')).seq).toBe(1);
    expect((await verifyLedger(p)).ok).toBe(true);
  });

  it('an emptied ledger is refused too', async () => {
    const p = fresh();
    const l = await Ledger.open(p);
    await l.append(entry());
    await l.close();
    await writeFile(p, '');
    await expect(Ledger.open(p)).rejects.toThrow(/1 record is missing: .* the ledger ends at no record at all/);
  });
});

describe('intents', () => {
  it('an intent without a result in its run is reported; a later push settles it; one answered in its run is not reported', async () => {
    const p = fresh();
    const l = await Ledger.open(p);
    await l.append(entry({ kind: 'intent', of: 'file', action: 'push', name: 'answered' }));
    await l.append(entry({ name: 'answered' }));
    await l.append(entry({ kind: 'intent', of: 'file', action: 'push', name: 'lost' }));
    await l.close();
    let s = (await scanLedger(p)).intents;
    expect(s).toMatchObject({ count: 1, unsettled: 1, list: [{ seq: 3, name: 'lost', kind: 'file', settledBy: null }] });
    const l2 = await Ledger.open(p, { log: quiet() });
    await l2.append(entry({ run: 'r2', kind: 'intent', of: 'file', action: 'push', name: 'lost' }));
    await l2.append(entry({ run: 'r2', name: 'lost', action: 'pushed' }));
    await l2.close();
    s = (await scanLedger(p)).intents;
    expect(s).toMatchObject({ count: 1, unsettled: 0, list: [{ seq: 3, settledBy: 5 }] });
  });
});
