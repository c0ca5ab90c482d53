#!/usr/bin/env node
// `npm run quickstart`: the whole round trip on embedded defaults, no network needed for the
// built-in entries: keygen (once) → pack manifests/quickstart.yaml → verify → unpack into ./mirror →
// ledger summary. Everything it makes lives in ./quickstart (keys, cache, bundles, ledger) and ./mirror.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const qs = join(root, 'quickstart');
const key = join(qs, 'keys', 'quickstart.key');
const pub = join(qs, 'keys', 'quickstart.pub');
const ledger = join(qs, 'ledger.jsonl');
const mirror = join(root, 'mirror');

function airgap(args, { capture = false } = {}) {
  console.log(`\n$ airgap ${args.map((a) => (a.startsWith(root) ? relative(root, a) || '.' : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [join(root, 'bin', 'run.js'), ...args], { cwd: root, stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`\nquickstart: airgap ${args[0]} exited ${r.status}`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
}

if (!existsSync(join(root, 'dist', 'src', 'commands'))) {
  console.error('quickstart: the CLI is not built; run `npm ci` (it builds) or `npm run build` first');
  process.exit(1);
}
if (!existsSync(key)) airgap(['keygen', '--out-dir', join(qs, 'keys'), '--name', 'quickstart']);
else console.log(`using the existing key ${relative(root, key)}`);

const packed = JSON.parse(airgap(['pack', join(root, 'manifests', 'quickstart.yaml'), '--out', join(qs, 'bundles'), '--key', key, '--cache', join(qs, 'cache'), '--json'], { capture: true }));
console.log(`bundle ${relative(root, packed.bundle)}: ${packed.artifacts} artifacts, ${packed.parts} part(s), ${packed.bytes} bytes`);
airgap(['verify', packed.bundle, '--pub', pub]);
airgap(['unpack', packed.bundle, '--to', `dir:${mirror}`, '--pub', pub, '--ledger', ledger]);

// The ledger summary: what this run recorded, per action and kind.
const records = readFileSync(ledger, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const lastRun = records[records.length - 1].run;
const counts = {};
for (const r of records.filter((r) => r.run === lastRun && r.kind !== 'run')) {
  const k = `${r.action} ${r.kind}`;
  counts[k] = (counts[k] ?? 0) + 1;
}
console.log(`\nledger ${relative(root, ledger)} (${records.length} records in all); this run:`);
for (const [k, n] of Object.entries(counts).sort()) console.log(`  ${String(n).padStart(4)}  ${k}`);
console.log(`\nmirror: ${relative(root, mirror)}/  — run \`npm run quickstart\` again: everything is recorded as present.`);
