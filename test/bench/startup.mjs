#!/usr/bin/env node
// @ts-check
// CLI start-up (issue 16), whole processes, median of BENCH_STARTUP_RUNS (default 15; --quick 3):
//   airgap --version               goal ≤ 0.15 s   (peers: `node -e 0`, node's own start-up; skopeo --version)
//   airgap verify --help           goal ≤ 0.30 s
//   airgap verify TINY --pub KEY   goal ≤ 0.50 s   (a one-file bundle packed here)
// A command loads only the ecosystems a manifest or bundle uses (src/ecosystems.ts), so these stay flat
// as ecosystems are added.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliBin, median, quick, report, runProcess } from './lib.mjs';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? (quick ? 3 : 15));
const work = mkdtempSync(join(tmpdir(), 'airgap-bench-startup-'));

/** Median wall seconds of RUNS runs (after one warm-up run). @param {string} cmd @param {string[]} args */
function timeIt(cmd, args) {
  runProcess(cmd, args, { cwd: work });
  const xs = [];
  for (let i = 0; i < RUNS; i++) xs.push(runProcess(cmd, args, { cwd: work }).secs);
  return median(xs);
}

try {
  runProcess(process.execPath, [cliBin, 'keygen', '--out-dir', join(work, 'keys'), '--name', 'bench'], { cwd: work });
  writeFileSync(join(work, 'tiny.txt'), 'tiny\n');
  writeFileSync(join(work, 'tiny.yaml'), `apiVersion: airgap/v1\nkind: Bundle\nname: tiny\nfiles:\n  - url: ${join(work, 'tiny.txt')}\n    path: tiny/\n`);
  const packed = runProcess(process.execPath, [cliBin, 'pack', join(work, 'tiny.yaml'), '--out', join(work, 'out'), '--key', join(work, 'keys', 'bench.key'), '--cache', join(work, 'cache'), '--json'], { cwd: work });
  const bundle = JSON.parse(packed.stdout).bundle;

  const node = timeIt(process.execPath, ['-e', '0']);
  const hasSkopeo = spawnSync('skopeo', ['--version'], { stdio: 'ignore' }).status === 0;
  const skopeo = hasSkopeo ? timeIt('skopeo', ['--version']) : NaN;
  const version = timeIt(process.execPath, [cliBin, '--version']);
  const help = timeIt(process.execPath, [cliBin, 'verify', '--help']);
  const verify = timeIt(process.execPath, [cliBin, 'verify', bundle, '--pub', join(work, 'keys', 'bench.pub')]);
  console.log(`  node -e 0 ${node.toFixed(3)} s, skopeo --version ${skopeo.toFixed(3)} s (${RUNS} runs each, median)`);
  const peer = `node -e 0: ${node.toFixed(3)} s; skopeo --version: ${hasSkopeo ? `${skopeo.toFixed(3)} s` : 'not installed'}`;
  report({ figure: 'airgap --version, wall time', value: version, unit: 's', goal: '≤ 0.15 s', met: version <= 0.15, peer });
  report({ figure: 'airgap verify --help, wall time', value: help, unit: 's', goal: '≤ 0.30 s', met: help <= 0.3, peer });
  report({ figure: 'airgap verify of a one-file bundle, wall time', value: verify, unit: 's', goal: '≤ 0.50 s', met: verify <= 0.5, peer });
} finally {
  rmSync(work, { recursive: true, force: true });
}
