// @ts-check
// Shared pieces of the benchmarks (see README.md in this folder). Type-checked by `npm run build`
// (test/bench/tsconfig.json), so a bench that calls something the code no longer has fails the build.
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The airgap CLI as an operator runs it. */
export const cliBin = join(root, 'bin', 'run.js');

/** `npm run bench -- --quick` (BENCH_QUICK=1): small data, one round; proves the bench runs, the figures are not read. */
export const quick = process.env.BENCH_QUICK === '1';

/**
 * @typedef {object} Row
 * @property {string} figure   what is measured, e.g. "verify rate, airgap verify / one read+SHA-256 stream"
 * @property {number} value    the figure (a ratio, seconds or MiB)
 * @property {string} unit     "×", "s", "MiB"
 * @property {string} goal     e.g. "≥ 1.0", "≤ 0.15 s", "< 256 MiB"
 * @property {boolean} met     whether value meets the goal (printed, never an exit code)
 * @property {string} peer     what the figure is measured against, run side by side in the same script
 */

/**
 * Record one row of the summary table `npm run bench` prints at the end. Prints it as well, so a bench
 * run on its own (`node test/bench/X.mjs`) shows its figures.
 * @param {Row} row
 */
export function report(row) {
  console.log(`  => ${row.figure}: ${fmt(row.value, row.unit)} (goal ${row.goal}: ${row.met ? 'met' : 'NOT met'}; peer: ${row.peer})`);
  if (process.env.BENCH_RESULTS) appendFileSync(process.env.BENCH_RESULTS, JSON.stringify({ bench: process.env.BENCH_NAME ?? '', ...row }) + '\n');
}

/** @param {number} v @param {string} unit */
export function fmt(v, unit) {
  if (!Number.isFinite(v)) return 'n/a';
  return unit === '×' ? `${v.toFixed(2)}×` : unit === 's' ? `${v.toFixed(3)} s` : `${v.toFixed(0)} ${unit}`;
}

/** @param {number[]} xs */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A free loopback port (servers in benches listen on 127.0.0.1 only). @returns {Promise<number>} */
export async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', () => r(undefined)));
  const addr = s.address();
  await new Promise((r) => s.close(() => r(undefined)));
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

const hasTimeV = spawnSync('/usr/bin/time', ['-v', 'true'], { stdio: 'ignore' }).status === 0;

/**
 * Run one whole process (the CLI, or a peer tool) and return its wall time and peak RSS. Throws when it
 * fails: a bench fails on an error, never on a timing.
 * @param {string} cmd @param {string[]} args @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [opts]
 * @returns {{ secs: number, rssMiB: number, stdout: string }}
 */
export function runProcess(cmd, args, opts = {}) {
  const [c, a] = hasTimeV ? ['/usr/bin/time', ['-v', cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c, a, { encoding: 'utf8', maxBuffer: 64 << 20, cwd: opts.cwd, env: opts.env ?? process.env });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr ?? '').slice(-4000)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  return { secs, rssMiB: m ? Number(m[1]) / 1024 : NaN, stdout: r.stdout };
}

/** @param {string[]} args @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [opts] */
export function runCli(args, opts) {
  return runProcess(process.execPath, [cliBin, ...args], opts);
}
