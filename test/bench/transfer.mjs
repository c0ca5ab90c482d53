#!/usr/bin/env node
// @ts-check
// Recovery data (issue 14, docs/transfer.md), whole CLI processes on the same files:
//   pack --recovery 10% ÷ pack without                       goal ≤ 1.3   (2 GiB; --quick 64 MiB; the files'
//                                                            first pack: each run starts from an empty cache; the median
//                                                            of 5 alternating pairs, 1 with --quick)
//   the same with the cache holding the files (a repeat pack: nothing to read but the cache; info)
//   par2cmdline on the same parts ÷ pack                      (info: what pack took when it ran `par2 create` after the parts)
//   repair of one lost part ÷ sha256sum of the parts         (peer: reading the bundle once; 1 GiB part; --quick 16 MiB)
//   repair ÷ par2 repair on the same damage                  (airgap adds the signature, the part hashes and a full verify)
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, renameSync, readFileSync, readdirSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliBin, quick, report, runProcess } from './lib.mjs';

// Multiplied, never shifted: `2 << 30` is a 32-bit shift in JavaScript and gives -2147483648, which made
// the full-size run pack four empty files into one part and then fail at `par2 repair` (one lost part of
// one, at 50%, is beyond any recovery): the "crash at 2 GiB".
const MiB = 2 ** 20;
const TOTAL = quick ? 64 * MiB : 2048 * MiB;
const CHUNK = quick ? 8 * MiB : 256 * MiB;
const PAIRS = quick ? 1 : 5;
const REPAIR_CHUNK = quick ? 16 * MiB : 1024 * MiB;
const work = mkdtempSync(join(tmpdir(), 'airgap-bench-transfer-'));

/** @param {string} path @param {number} size */
function randomFile(path, size) {
  const fd = openSync(path, 'w');
  const buf = randomBytes(8 << 20);
  for (let n = 0; n < size; n += buf.length) writeSync(fd, buf, 0, Math.min(buf.length, size - n));
  closeSync(fd);
}

/** User + system CPU seconds from `/usr/bin/time -v` (NaN without it): on a loaded machine the wall ratio follows the CPU ratio. @param {string} stderr */
function cpuSecs(stderr) {
  const t = (/** @type {string} */ k) => Number(new RegExp(`${k} time \\(seconds\\): ([\\d.]+)`).exec(stderr)?.[1] ?? NaN);
  return t('User') + t('System');
}

/** Seconds between pack's timestamped "TITLE …" and "TITLE: done" lines (plain progress on stderr). @param {string} stderr @param {string} title */
function phaseSecs(stderr, title) {
  const at = (/** @type {string} */ tail) => Date.parse(new RegExp(`^(\\S+) ${title}${tail}`, 'm').exec(stderr)?.[1] ?? '');
  return (at(': done') - at(' …')) / 1000;
}

/** @param {string} name @param {string[]} extra */
function pack(name, extra) {
  // Nothing of the run before is still being written back to the disk when a timed run starts.
  runProcess('sync', []);
  // Plain progress (no --json): stdout is the bundle's path, stderr has each phase's timestamps.
  const r = runProcess(process.execPath, [cliBin, 'pack', join(work, 'm.yaml'), '--out', join(work, name), '--key', join(work, 'keys', 'b.key'), '--cache', join(work, 'cache'), ...extra], { cwd: work });
  const bundle = r.stdout.trim().split('\n').pop() ?? '';
  return { secs: r.secs, cpu: cpuSecs(r.stderr), rssMiB: r.rssMiB, bundle, writing: phaseSecs(r.stderr, 'Writing the bundle'), resolving: phaseSecs(r.stderr, 'Resolving the manifest') };
}

try {
  runProcess(process.execPath, [cliBin, 'keygen', '--out-dir', join(work, 'keys'), '--name', 'b'], { cwd: work });
  const files = 4;
  for (let i = 0; i < files; i++) randomFile(join(work, `f${i}.bin`), TOTAL / files);
  writeFileSync(join(work, 'm.yaml'), `apiVersion: airgap/v1\nkind: Bundle\nname: bench\nfiles:\n${[...Array(files).keys()].map((i) => `  - url: ./f${i}.bin\n`).join('')}`);
  // pack records a file it read only once its last change is 3 s old (docs/manifest.md): so the repeat
  // packs below find every file recorded.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3_500);
  // The files' first pack: each run copies them into an empty cache (hashing them), then writes the bundle.
  // Pairs without / with recovery, alternating, and the median pair's ratio. Every run starts alike: the
  // bundle before it is removed first, so both write into page-cache memory just freed. On this VM,
  // memory it has not touched for a while costs several times more system time to fill (a run after
  // a kept 2 GiB bundle took 2-3 s longer), which made one pair vary 1.1-1.6x.
  const pairs = [];
  let lastRec = '';
  for (let i = 0; i < PAIRS; i++) {
    rmSync(join(work, 'cache'), { recursive: true, force: true });
    if (lastRec) rmSync(lastRec, { recursive: true, force: true });
    const p = pack(`plain-${i}`, ['--chunk-size', String(CHUNK)]);
    rmSync(p.bundle, { recursive: true, force: true });
    rmSync(join(work, 'cache'), { recursive: true, force: true });
    const q = pack(`rec-${i}`, ['--chunk-size', String(CHUNK), '--recovery', '10%']);
    lastRec = q.bundle;
    pairs.push({ plain: p, rec: q, ratio: q.secs / p.secs });
    console.log(`  pair ${i + 1}: pack ${p.secs.toFixed(2)} s (resolving ${p.resolving.toFixed(2)}, writing ${p.writing.toFixed(2)}), pack --recovery 10% ${q.secs.toFixed(2)} s (resolving ${q.resolving.toFixed(2)}, writing ${q.writing.toFixed(2)}): ${(q.secs / p.secs).toFixed(2)}×`);
  }
  const { plain, rec } = [...pairs].sort((a, b) => a.ratio - b.ratio)[Math.floor(PAIRS / 2)];
  // par2cmdline runs on the last bundle's parts (the parts are the same with and without recovery).
  const d = JSON.parse(readFileSync(join(lastRec, 'bundle.json'), 'utf8'));
  const parts = d.parts.map((/** @type {{file: string}} */ p) => p.file);
  if (parts.length !== Math.ceil(TOTAL / CHUNK) + 1) throw new Error(`expected ${Math.ceil(TOTAL / CHUNK) + 1} parts of ${CHUNK} bytes (data plus the tar headers), got ${parts.length}`);
  const peerDir = join(work, 'par2-peer');
  mkdirSync(peerDir);
  for (const f of parts) renameSync(join(lastRec, f), join(peerDir, f));
  rmSync(lastRec, { recursive: true, force: true });
  const vols = d.recovery.files.filter((/** @type {{blocks: number}} */ f) => f.blocks > 0).length;
  // The same block size, count and volumes as airgap's own writer chose; -m256 as pack used to give it.
  const r = d.recovery;
  const par2 = runProcess('par2', ['create', '-q', '-q', `-s${r.blockSize}`, `-c${r.recoveryBlocks}`, `-n${vols}`, '-u', '-m256', 'bundle.par2', '--', ...parts], { cwd: peerDir });
  console.log(`  median pair: ${(TOTAL / 2 ** 20).toFixed(0)} MiB in ${parts.length} parts: pack ${plain.secs.toFixed(2)} s, pack --recovery 10% ${rec.secs.toFixed(2)} s, par2 create ${par2.secs.toFixed(2)} s (${d.recovery.sourceBlocks} blocks of ${d.recovery.blockSize} B, ${d.recovery.recoveryBlocks} recovery)`);
  console.log(`  CPU (user + system): pack ${plain.cpu.toFixed(1)} s, pack --recovery 10% ${rec.cpu.toFixed(1)} s; peak RSS ${plain.rssMiB.toFixed(0)} / ${rec.rssMiB.toFixed(0)} MiB; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  report({ figure: 'pack --recovery 10% / pack without', value: rec.secs / plain.secs, unit: '×', goal: '≤ 1.3', met: rec.secs / plain.secs <= 1.3, peer: `pack without recovery ${plain.secs.toFixed(2)} s` });
  // Resolving copies each local file into the cache (hashing it), the same in both runs: the writing
  // phase alone is where recovery data is made, so its ratio is printed too (and the repeat pack's below).
  console.log(`  phases: resolving ${plain.resolving.toFixed(2)} / ${rec.resolving.toFixed(2)} s, writing the bundle ${plain.writing.toFixed(2)} / ${rec.writing.toFixed(2)} s (without / with recovery)`);
  report({ figure: 'writing phase of pack --recovery 10% / without', value: rec.writing / plain.writing, unit: '×', goal: 'info', met: true, peer: `writing without recovery ${plain.writing.toFixed(2)} s` });
  report({ figure: 'CPU of pack --recovery 10% / pack without', value: rec.cpu / plain.cpu, unit: '×', goal: 'info', met: true, peer: `pack without recovery ${plain.cpu.toFixed(1)} CPU-s` });
  report({ figure: 'par2cmdline create alone / pack without', value: par2.secs / plain.secs, unit: '×', goal: 'info', met: true, peer: 'par2cmdline 0.8 on the same parts and settings (pack no longer runs it)' });
  rmSync(peerDir, { recursive: true, force: true });

  // A repeat pack: the cache holds the files (unchanged since they were read, docs/manifest.md), so
  // pack reads only the cache and the whole run is the writing phase.
  const again = pack('again', ['--chunk-size', String(CHUNK)]);
  rmSync(join(work, 'again'), { recursive: true, force: true });
  const againRec = pack('again-rec', ['--chunk-size', String(CHUNK), '--recovery', '10%']);
  rmSync(join(work, 'again-rec'), { recursive: true, force: true });
  console.log(`  repeat pack (cache holds the files): pack ${again.secs.toFixed(2)} s (resolving ${again.resolving.toFixed(2)} s), pack --recovery 10% ${againRec.secs.toFixed(2)} s; CPU ${again.cpu.toFixed(1)} / ${againRec.cpu.toFixed(1)} s`);
  report({ figure: 'repeat pack --recovery 10% / without (cache holds the files)', value: againRec.secs / again.secs, unit: '×', goal: 'info', met: true, peer: `repeat pack without recovery ${again.secs.toFixed(2)} s` });

  // Repair: parts of REPAIR_CHUNK with 50% recovery, so that one lost part (half the data) is within capacity.
  const big = pack('big', ['--chunk-size', String(REPAIR_CHUNK), '--recovery', '50%']);
  const bigParts = readdirSync(big.bundle).filter((f) => /^part-\d+$/.test(f)).sort();
  if (bigParts.length < 3) throw new Error(`the repair bundle has ${bigParts.length} parts; one lost part of them is not within 50% recovery`);
  const sums = runProcess('sha256sum', bigParts, { cwd: big.bundle });
  const par2Copy = join(work, 'par2-repair');
  cpSync(big.bundle, par2Copy, { recursive: true });
  rmSync(join(par2Copy, bigParts[0]));
  const peerRepair = runProcess('par2', ['repair', '-q', '-q', '-m256', 'bundle.par2'], { cwd: par2Copy });
  rmSync(join(big.bundle, bigParts[0]));
  const repair = runProcess(process.execPath, [cliBin, 'repair', big.bundle, '--pub', join(work, 'keys', 'b.pub'), '--json'], { cwd: work });
  console.log(`  repair of one lost ${(REPAIR_CHUNK / 2 ** 20).toFixed(0)} MiB part of ${bigParts.length}: airgap repair ${repair.secs.toFixed(2)} s, par2 repair ${peerRepair.secs.toFixed(2)} s, sha256sum of the parts ${sums.secs.toFixed(2)} s`);
  report({ figure: 'repair one lost part / sha256sum of the parts', value: repair.secs / sums.secs, unit: '×', goal: 'info', met: true, peer: `sha256sum ${sums.secs.toFixed(2)} s` });
  report({ figure: 'airgap repair / par2 repair (same damage)', value: repair.secs / peerRepair.secs, unit: '×', goal: 'info', met: true, peer: `par2 repair ${peerRepair.secs.toFixed(2)} s` });
} finally {
  rmSync(work, { recursive: true, force: true });
}
