#!/usr/bin/env node
// Installs what the tests need before `npm test` runs them (README: `npm ci && npm test`).
// Each feature lists its tools in test/tools/<feature>.json: { tools: [{ command, debian }] }.
// Missing tools are installed with apt-get when running as root; otherwise this fails and prints
// the command to run. A missing tool is never a silent skip.
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'test', 'tools');
const wanted = new Map();
for (const f of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  for (const t of JSON.parse(readFileSync(join(dir, f), 'utf8')).tools) wanted.set(t.command, t.debian);
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v "${cmd}"`], { stdio: 'ignore' }).status === 0;
const missing = [...wanted].filter(([cmd]) => !has(cmd));
if (missing.length === 0) process.exit(0);

const pkgs = [...new Set(missing.map(([, deb]) => deb))].sort();
const cmd = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
console.log(`test tools missing: ${missing.map(([c]) => c).join(', ')}`);
if (process.getuid?.() !== 0) {
  console.error(`run as root first:\n  ${cmd}`);
  process.exit(1);
}
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...pkgs]]) {
  const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`apt-get ${args.join(' ')} failed (exit ${r.status}); install by hand:\n  ${cmd}`);
    process.exit(1);
  }
}
const still = missing.filter(([c]) => !has(c));
if (still.length) {
  console.error(`still missing after install: ${still.map(([c]) => c).join(', ')}`);
  process.exit(1);
}
