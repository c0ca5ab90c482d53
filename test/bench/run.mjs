#!/usr/bin/env node
// `npm run bench`: every benchmark under test/bench/, each printing ratios against a peer run side by
// side in the same script (GNU tar|split, sha256, skopeo, npm). No pass/fail: the figures are read.
// Run one with `npm run bench -- NAME` (e.g. bundle, rss, oci, npm).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = ['bundle', 'rss', 'oci', 'npm'];
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : all;
let failed = 0;
for (const name of wanted) {
  const file = join(here, `${name}.mjs`);
  if (!existsSync(file)) {
    console.log(`\n== ${name}: no benchmark in this build`);
    continue;
  }
  console.log(`\n== ${name}`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`== ${name}: failed (exit ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);
