/**
 * Issue 3 "must show", through the real CLI (bin/run.js) with plain files: ledger verify finds edited,
 * deleted, reordered and torn lines; receipts and incremental bundles (checked with GNU tar); freshness;
 * cron output (--json summary, timestamped lines).
 */
import { createHash } from 'node:crypto';
import { copyFile, readFile, readdir, writeFile, appendFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson } from '../harness/index.js';
import { type Fixture, bundleBlobs, fixture, ledgerLines } from './fixtures.js';

let f: Fixture;
const sha256File = async (p: string) => 'sha256:' + createHash('sha256').update(await readFile(p)).digest('hex');

beforeAll(async () => {
  f = await fixture();
});

describe('ledger commands', () => {
  it('are listed under the ledger topic, each with examples in --help', async () => {
    const topic = await runAirgap(['ledger', '--help']);
    expect(topic.exitCode).toBe(0);
    for (const c of ['verify', 'show', 'receipt']) {
      expect(topic.stdout).toMatch(new RegExp(`ledger ${c}\\s`));
      const h = await runAirgap(['ledger', c, '--help']);
      expect(h.exitCode).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`EXAMPLES[\\s\\S]*\\$ airgap ledger ${c} `));
    }
  });

  it('a missing ledger file is a usage error (exit 2) naming it', async () => {
    const missing = join(f.work, 'no-such-ledger.jsonl');
    for (const args of [['verify', missing], ['show', missing], ['receipt', missing, '--out', join(f.work, 'r.json')]]) {
      const r = await runAirgap(['ledger', ...args]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`ledger ${missing} does not exist`);
    }
  });
});

describe('ledger verify through the CLI', () => {
  let ledger: string;
  let lines: string[];

  beforeAll(async () => {
    const names = await f.files('v', 4);
    const m = await f.manifest('v.yaml', 'verify-me', names.map((url) => ({ url, path: 'v/' })));
    const b = await f.pack(m, 'out-v');
    ledger = join(f.work, 'v-ledger.jsonl');
    // One at a time, so each intent is followed by its own result and the line numbers below are fixed.
    const u = await runAirgap(f.unpackArgs(b.bundle, `dir:${join(f.work, 'mirror-v')}`, ledger, ['--concurrency', '1']), { cwd: f.work });
    expect(u.exitCode, u.stderr).toBe(0);
    lines = (await readFile(ledger, 'utf8')).split('\n').slice(0, -1);
    // start, then an intent and its result per file (docs/ledger.md), then end.
    expect(lines).toHaveLength(10);
    expect(lines.map((l) => JSON.parse(l).action)).toEqual(['start', ...Array(4).fill(['push', 'pushed']).flat(), 'end']);
  });

  async function verifyVariant(name: string, content: string, extra: string[] = []) {
    const p = join(f.work, name);
    await writeFile(p, content);
    return runAirgap(['ledger', 'verify', p, ...extra], { cwd: f.work });
  }

  it('passes on the ledger unpack wrote', async () => {
    const r = await runAirgap(['ledger', 'verify', ledger]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/10 records, chain intact/);
  });

  const cases: [string, (l: string[]) => string[], RegExp][] = [
    ['an edited line 3', (l) => l.map((x, i) => (i === 2 ? x.replace('"pushed"', '"failed"') : x)), /line 4: prev does not match the sha256 of line 3: line 3 was changed/],
    ['an edited first line', (l) => l.map((x, i) => (i === 0 ? x.replace('"start"', '"end"') : x)), /line 2: .*line 1 was changed/],
    ['a deleted line 2', (l) => l.filter((_, i) => i !== 1), /line 2: seq is 3, expected 2/],
    ['lines 4 and 5 swapped', (l) => [...l.slice(0, 3), l[4], l[3], l[5]], /line 4: seq is 5, expected 4/],
    ['an inserted copy of line 2', (l) => [l[0], l[1], l[1], ...l.slice(2)], /line 3: seq is 2, expected 3/],
  ];
  it.each(cases)('%s: exit 3 naming the line', async (name, tamper, message) => {
    const r = await verifyVariant(`${name.replace(/\W+/g, '-')}.jsonl`, tamper(lines).join('\n') + '\n');
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(message);
  });

  it('--json puts the file:line in the error document', async () => {
    const p = join(f.work, 'json-bad.jsonl');
    await writeFile(p, lines.filter((_, i) => i !== 2).join('\n') + '\n');
    const r = await runAirgapJson(['ledger', 'verify', p]);
    expect(r.exitCode).toBe(3);
    expect(r.json.error).toMatchObject({ kind: 'IntegrityError', exitCode: 3, subject: `${p}:3` });
  });

  it('an edited or removed LAST line is caught with --anchor (a receipt made before)', async () => {
    const receipt = join(f.work, 'anchor-receipt.json');
    const r0 = await runAirgap(['ledger', 'receipt', ledger, '--out', receipt]);
    expect(r0.exitCode, r0.stderr).toBe(0);
    const cut = await verifyVariant('cut.jsonl', lines.slice(0, 9).join('\n') + '\n', ['--anchor', receipt]);
    expect(cut.exitCode).toBe(3);
    expect(cut.stderr).toMatch(/no record with seq 10/);
    const edited = await verifyVariant('edited-last.jsonl', [...lines.slice(0, 9), lines[9].replace('"end"', '"start"')].join('\n') + '\n', ['--anchor', receipt]);
    expect(edited.exitCode).toBe(3);
    expect(edited.stderr).toMatch(/line 10 \(seq 10\) no longer hashes/);
    const intact = await runAirgap(['ledger', 'verify', ledger, '--anchor', receipt]);
    expect(intact.exitCode, intact.stderr).toBe(0);
  });

  it('a torn last line is reported as torn (exit 3), and the next unpack truncates it with a warning', async () => {
    const p = join(f.work, 'torn.jsonl');
    await copyFile(ledger, p);
    await appendFile(p, lines[9].slice(0, 40));
    const r = await runAirgap(['ledger', 'verify', p]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/line 11 is torn: the last line has no newline/);
    const bundle = JSON.parse(lines[0]).bundle.name as string;
    const outDir = join(f.work, 'out-v');
    const dir = join(outDir, (await readdir(outDir)).find((d) => d.startsWith(bundle))!);
    const u = await runAirgap(f.unpackArgs(dir, `dir:${join(f.work, 'mirror-v')}`, p), { cwd: f.work });
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.stderr).toMatch(/warning: ledger .*torn.jsonl line 11: the last line has no newline.*truncated it/);
    const after = await runAirgap(['ledger', 'verify', p]);
    expect(after.exitCode, after.stderr).toBe(0);
    expect((await ledgerLines(p)).slice(10).map((x) => x.action)).toEqual(['start', 'present', 'present', 'present', 'present', 'end']);
  });

  it('ledger show prints a table and filters by bundle and date', async () => {
    const r = await runAirgap(['ledger', 'show', ledger]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^TIME\s+ACTION\s+KIND\s+NAME\s+VERSION\s+PLATFORM\s+TARGET\s+BUNDLE/);
    expect(r.stdout.match(/ pushed\s+file\s+v\/\d{4}\.bin/g)).toHaveLength(4);
    const none = await runAirgapJson(['ledger', 'show', ledger, '--bundle', 'no-such-bundle']);
    expect(none.json.rows).toEqual([]);
    const later = await runAirgapJson(['ledger', 'show', ledger, '--since', '2999-01-01']);
    expect(later.json.rows).toEqual([]);
    const mine = await runAirgapJson(['ledger', 'show', ledger, '--bundle', 'verify-me', '--since', '2000-01-01']);
    expect(mine.json.rows).toHaveLength(10);
    // An intent row names the artifact's kind; its result row follows (docs/ledger.md).
    expect(r.stdout.match(/ intent\s+file\s+v\/\d{4}\.bin/g)).toHaveLength(4);
    const bad = await runAirgap(['ledger', 'show', ledger, '--since', 'last tuesday']);
    expect(bad.exitCode).toBe(2);
  });
});

describe('receipt → pack --since → unpack (incremental bundles)', () => {
  let names: string[];
  let mirror: string;
  let ledger: string;
  let receipt: string;
  let incremental: { bundle: string } & Record<string, any>;

  beforeAll(async () => {
    names = await f.files('inc', 4, 50_000);
    const m1 = await f.manifest('inc1.yaml', 'inc', names.slice(0, 3).map((url) => ({ url, path: 'inc/' })));
    const b1 = await f.pack(m1, 'out-inc1');
    mirror = join(f.work, 'mirror-inc');
    ledger = join(f.work, 'inc-ledger.jsonl');
    const u = await runAirgap(f.unpackArgs(b1.bundle, `dir:${mirror}`, ledger), { cwd: f.work });
    expect(u.exitCode, u.stderr).toBe(0);
    receipt = join(f.work, 'receipt.json');
    const r = await runAirgapJson(['ledger', 'receipt', ledger, '--out', receipt]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.artifacts).toBe(3);
    const m2 = await f.manifest('inc2.yaml', 'inc', names.map((url) => ({ url, path: 'inc/' })));
    incremental = await f.pack(m2, 'out-inc2', ['--since', receipt]);
  });

  it('the receipt lists every file digest the ledger records as inside', async () => {
    const r = JSON.parse(await readFile(receipt, 'utf8'));
    expect(r.schema).toBe('airgap.receipt/v1');
    const want = await Promise.all(names.slice(0, 3).map((n) => sha256File(join(f.work, n))));
    expect(r.digests.file).toEqual([...want].sort());
    expect(Object.keys(r.bundles)).toEqual(['inc']);
    const lines = (await readFile(ledger, 'utf8')).split('\n').slice(0, -1);
    expect(r.ledger).toEqual({ seq: lines.length, sha256: createHash('sha256').update(lines.at(-1)!).digest('hex') });
  });

  it('the incremental bundle holds only the new blob and records its base', async () => {
    expect(await bundleBlobs(incremental.bundle)).toEqual([await sha256File(join(f.work, names[3]))]);
    expect(incremental.countsByKind).toEqual({ file: { packed: 1, base: 3 } });
    const desc = JSON.parse(await readFile(join(incremental.bundle, 'bundle.json'), 'utf8'));
    const r = JSON.parse(await readFile(receipt, 'utf8'));
    expect(desc.base).toEqual({ receipt: { created: r.created, ledger: r.ledger, target: null }, artifacts: 3 });
    expect(desc.totals).toMatchObject({ artifacts: 1, blobs: 1 });
  });

  it('unpacking it into an empty target exits 1 listing what the base lacks, and publishes nothing', async () => {
    const empty = join(f.work, 'mirror-empty');
    const l2 = join(f.work, 'empty-ledger.jsonl');
    const r = await runAirgap(f.unpackArgs(incremental.bundle, `dir:${empty}`, l2), { cwd: f.work });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/is incremental: it builds on 3 artifacts, and target dir:.*mirror-empty lacks 3 of them/);
    for (const n of names.slice(0, 3)) expect(r.stderr).toContain(`file inc/${n.split('/')[1]}`);
    await expect(stat(join(empty, 'files', 'inc', names[3].split('/')[1]))).rejects.toThrow();
    expect(await ledgerLines(l2)).toEqual([]);
  });

  it('unpacking it into the target that holds the base works', async () => {
    const r = await runAirgapJson(f.unpackArgs(incremental.bundle, `dir:${mirror}`, ledger), { cwd: f.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.counts).toEqual({ pushed: 1 });
    expect(r.json.baseArtifacts).toBe(3);
    for (const n of names) expect(await sha256File(join(mirror, 'files', 'inc', n.split('/')[1]))).toBe(await sha256File(join(f.work, n)));
    const start = (await ledgerLines(ledger)).filter((x) => x.action === 'start').at(-1);
    expect(start.note.base.artifacts).toBe(3);
    const v = await runAirgap(['ledger', 'verify', ledger]);
    expect(v.exitCode, v.stderr).toBe(0);
  });

  it('the same bytes under another path are a new artifact, not left out', async () => {
    const m3 = await f.manifest('inc3.yaml', 'inc', [...names.slice(0, 3).map((url) => ({ url, path: 'inc/' })), { url: names[0], path: 'elsewhere/copy.bin' }]);
    const b = await f.pack(m3, 'out-inc3', ['--since', receipt]);
    expect(b.countsByKind).toEqual({ file: { packed: 1, base: 3 } });
    expect(await bundleBlobs(b.bundle)).toEqual([await sha256File(join(f.work, names[0]))]);
  });

  it('a malformed receipt is a usage error (exit 2) naming the file', async () => {
    const bad = join(f.work, 'bad-receipt.json');
    await writeFile(bad, '{"schema":"airgap.receipt/v0"}');
    const m = join(f.work, 'inc2.yaml');
    const r = await runAirgap(['pack', m, '--out', join(f.work, 'out-bad'), '--key', join(f.keys, 'outside.key'), '--cache', f.cache, '--since', bad], { cwd: f.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`receipt ${bad} is not an airgap receipt`);
  });
});

describe('freshness', () => {
  it('an older bundle is refused (exit 3), accepted with --allow-older and recorded', async () => {
    const names = await f.files('fresh', 2);
    const m = await f.manifest('fresh.yaml', 'fresh', names.map((url) => ({ url, path: 'fresh/' })));
    const older = await f.pack(m, 'out-fresh-a');
    const newer = await f.pack(m, 'out-fresh-b');
    const mirror = `dir:${join(f.work, 'mirror-fresh')}`;
    const ledger = join(f.work, 'fresh-ledger.jsonl');
    const u1 = await runAirgap(f.unpackArgs(newer.bundle, mirror, ledger), { cwd: f.work });
    expect(u1.exitCode, u1.stderr).toBe(0);
    const newerCreated = JSON.parse(await readFile(join(newer.bundle, 'bundle.json'), 'utf8')).created;

    const refused = await runAirgapJson(f.unpackArgs(older.bundle, mirror, ledger), { cwd: f.work });
    expect(refused.exitCode).toBe(3);
    expect(refused.json.error.kind).toBe('TrustError');
    expect(refused.json.error.message).toMatch(new RegExp(`older than bundle fresh of ${newerCreated.replace(/\./g, '\\.')}`));
    const before = (await ledgerLines(ledger)).length;
    expect(before).toBe(6); // start, intent + pushed per file, end

    // The same bundle again (a re-run) is not older.
    const again = await runAirgap(f.unpackArgs(newer.bundle, mirror, ledger), { cwd: f.work });
    expect(again.exitCode, again.stderr).toBe(0);

    const allowed = await runAirgapJson(f.unpackArgs(older.bundle, mirror, ledger, ['--allow-older']), { cwd: f.work });
    expect(allowed.exitCode, allowed.stderr).toBe(0);
    expect(allowed.json.allowedOlder).toEqual({ newest: newerCreated, target: mirror });
    const start = (await ledgerLines(ledger)).filter((x) => x.action === 'start').at(-1);
    expect(start.bundle.created).toBe(JSON.parse(await readFile(join(older.bundle, 'bundle.json'), 'utf8')).created);
    expect(start.note.allowOlder).toEqual({ newest: newerCreated, target: mirror });
  });

  it('is per bundle name and target: an older bundle fills a second mirror; the refusal names the target', async () => {
    const names = await f.files('pertarget', 1);
    const m = await f.manifest('pertarget.yaml', 'pertarget', names.map((url) => ({ url, path: 'pt/' })));
    const older = await f.pack(m, 'out-pt-a');
    const newer = await f.pack(m, 'out-pt-b');
    const first = `dir:${join(f.work, 'mirror-pt-1')}`;
    const second = `dir:${join(f.work, 'mirror-pt-2')}`;
    const ledger = join(f.work, 'pt-ledger.jsonl');
    expect((await runAirgap(f.unpackArgs(newer.bundle, first, ledger), { cwd: f.work })).exitCode).toBe(0);
    const other = await runAirgap(f.unpackArgs(older.bundle, second, ledger), { cwd: f.work });
    expect(other.exitCode, other.stderr).toBe(0);
    const refused = await runAirgapJson(f.unpackArgs(older.bundle, first, ledger), { cwd: f.work });
    expect(refused.exitCode).toBe(3);
    expect(refused.json.error.message).toContain(`for target ${first}`);
  });
});

describe('cron mode', () => {
  let bundle: string;
  beforeAll(async () => {
    const names = await f.files('cron', 3);
    const m = await f.manifest('cron.yaml', 'cron', names.map((url) => ({ url, path: 'cron/' })));
    bundle = (await f.pack(m, 'out-cron')).bundle;
  });

  it('without a terminal, progress is timestamped plain lines on stderr', async () => {
    const r = await runAirgap(f.unpackArgs(bundle, `dir:${join(f.work, 'mirror-cron')}`, join(f.work, 'cron-ledger.jsonl')), { cwd: f.work });
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S/);
    expect(r.stdout).toMatch(/^cron → dir:.*: 3 pushed/);
  });

  it('without a terminal, a failure is timestamped too (every line of it)', async () => {
    const ledger = join(f.work, 'cron-fail-ledger.jsonl');
    await writeFile(ledger, '{"v":1,"seq":1}\nnot json\n{"v":1}\n');
    const r = await runAirgap(['ledger', 'receipt', ledger, '--out', join(f.work, 'cron-fail-receipt.json')]);
    expect(r.exitCode).toBe(3);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines.some((l) => / error: ledger .* line 1: /.test(l))).toBe(true);
    expect(lines.some((l) => / {2}hint: /.test(l))).toBe(true);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
  });

  it('--json prints one summary document: counts per action and kind, bytes, duration, bundle, failures', async () => {
    const r = await runAirgapJson(f.unpackArgs(bundle, `dir:${join(f.work, 'mirror-cron2')}`, join(f.work, 'cron2-ledger.jsonl')), { cwd: f.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.json).toMatchObject({ bundle, name: 'cron', counts: { pushed: 3 }, countsByKind: { file: { pushed: 3 } }, bytes: 3 * 2048, failures: [] });
    expect(r.json.durationMs).toEqual(expect.any(Number));
    const again = await runAirgapJson(f.unpackArgs(bundle, `dir:${join(f.work, 'mirror-cron2')}`, join(f.work, 'cron2-ledger.jsonl')), { cwd: f.work });
    expect(again.json).toMatchObject({ counts: { present: 3 }, countsByKind: { file: { present: 3 } }, bytes: 0 });
  });

  it('pack --json has the same kind of summary', async () => {
    const m = join(f.work, 'cron.yaml');
    const r = await runAirgapJson(['pack', m, '--out', join(f.work, 'out-cron-json'), '--key', join(f.keys, 'outside.key'), '--cache', f.cache], { cwd: f.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ artifacts: 3, blobs: 3, parts: 1, countsByKind: { file: { packed: 3, base: 0 } }, skipped: [], base: null });
    expect(r.json.bundle).toMatch(/out-cron-json\/cron-\d{8}T\d{6}Z$/);
  });
});
