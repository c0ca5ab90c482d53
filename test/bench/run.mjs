#!/usr/bin/env node
// @ts-check
// `npm run bench [-- --quick] [NAME…]`: every benchmark under test/bench/, each in its own process,
// then ONE summary table (figure, value, goal, met, peer). Each figure is a ratio against a peer run
// side by side in the same script (GNU tar|split, read+SHA-256, skopeo, npm), or an absolute bound.
//
//   --quick   small data, one round, every bench, in under 3 minutes (`.ci/run` runs it). It fails on an
//             error (a bench that crashes or whose code path is gone), never on a timing.
//
// ADDING A BENCH: write test/bench/NAME.mjs (`// @ts-check`; import { quick, report } from './lib.mjs';
// honour `quick`; call report({ figure, value, unit, goal, met, peer }) per figure), then add ONE line
// to BENCHES below. README.md in this folder says more.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt } from './lib.mjs';

/** name → what it measures. The file is test/bench/<name>.mjs. One line per bench. */
const BENCHES = {
  startup: 'CLI start-up: --version, verify --help, verify of a tiny bundle',
  bundle: 'bundle writer and verify (whole CLI process) vs tar|split and one read+SHA-256 stream',
  rss: 'peak RSS of pack, verify and unpack of a 4 GiB bundle',
  oci: 'airgap pack / unpack of 4 images vs skopeo copy (+ tar|split), docker-registry on loopback',
  npm: 'npm closure download vs npm install with an empty cache, verdaccio on loopback',
  transfer: 'pack --recovery 10% vs without, and repair of a lost part vs sha256sum / par2 repair',
  serve: 'airgap serve vs docker-registry (skopeo copy) and nginx (1 GiB files, 16 parallel clients), serve peak RSS',
};

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const names = argv.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length) {
  console.error(`no bench named ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const wanted = names.length ? names : Object.keys(BENCHES);
const work = mkdtempSync(join(tmpdir(), 'airgap-bench-run-'));
const results = join(work, 'results.jsonl');
const started = Date.now();
const failed = [];
try {
  for (const name of wanted) {
    const file = join(here, `${name}.mjs`);
    console.log(`\n== ${name}: ${BENCHES[/** @type {keyof typeof BENCHES} */ (name)]}${quick ? ' (quick)' : ''}`);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [file], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_RESULTS: results, BENCH_NAME: name, ...(quick ? { BENCH_QUICK: '1' } : {}) },
    });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (r.status !== 0) {
      failed.push(name);
      console.log(`== ${name}: FAILED (exit ${r.status ?? r.signal}) after ${secs} s`);
    } else console.log(`== ${name}: done in ${secs} s`);
  }
  /** @type {(import('./lib.mjs').Row & { bench: string })[]} */
  const rows = existsSync(results) ? readFileSync(results, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  console.log(`\nSummary${quick ? ' (--quick: small data, one round; the figures prove the benches run, they are not the measurements)' : ''}`);
  const table = [['bench', 'figure', 'value', 'goal', 'met', 'peer'], ...rows.map((r) => [r.bench, r.figure, fmt(r.value, r.unit), r.goal, r.met ? 'yes' : 'NO', r.peer])];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const [i, row] of table.entries()) {
    console.log(row.map((c, k) => (k === row.length - 1 ? c : c.padEnd(widths[k]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  console.log(`\n${wanted.length} benches in ${((Date.now() - started) / 1000).toFixed(0)} s${failed.length ? `; FAILED: ${failed.join(', ')}` : ''}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed.length ? 1 : 0);
