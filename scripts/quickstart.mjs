#!/usr/bin/env node
// `npm run quickstart`: the whole round trip on embedded defaults: keygen (once) → pack
// manifests/quickstart.yaml → verify → unpack into ./mirror → ledger summary. Everything it makes lives
// in ./quickstart (keys, cache, bundles, ledger) and ./mirror.
// The npm and apt entries use this machine's own npm registry and apt sources; when those cannot be
// reached (a machine with no network), they are left out with a note and the rest runs as usual.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname, relative, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

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

/** Any HTTP answer within 5 s means reachable; a refused or silent host does not. */
async function reachable(url) {
  try {
    await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(5000), redirect: 'manual' });
    return true;
  } catch {
    return false;
  }
}

function npmRegistry() {
  try {
    return execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** The first archive URI of this host's apt sources (deb822 `URIs:` or one-line `deb`), if any. */
function aptSourceUri() {
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d')) files.push(join('/etc/apt/sources.list.d', f));
  } catch { /* no sources.list.d */ }
  for (const f of files) {
    let text = '';
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    const m = /^URIs:\s*(\S+)/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m.exec(text);
    if (m && /^https?:/.test(m[1])) return m[1];
  }
  return '';
}

const manifestPath = join(root, 'manifests', 'quickstart.yaml');
const manifest = YAML.parse(readFileSync(manifestPath, 'utf8'));
const leftOut = [];
if (manifest.npm) {
  const reg = npmRegistry();
  if (!reg || !(await reachable(reg))) leftOut.push(['npm', `the npm registry this machine is configured with${reg ? ` (${reg})` : ''} cannot be reached`]);
}
if (manifest.apt) {
  const uri = aptSourceUri();
  if (uri && !(await reachable(uri))) leftOut.push(['apt', `this host's apt archive (${uri}) cannot be reached`]);
}
let packManifest = manifestPath;
if (leftOut.length) {
  for (const [section, why] of leftOut) {
    console.log(`quickstart: ${why}; leaving out the ${section} entry (offline run)`);
    delete manifest[section];
  }
  // Local file paths in the manifest are relative to it: make them absolute for the copy.
  for (const f of manifest.files ?? []) if (!/^[a-z]+:\/\//i.test(f.url) && !isAbsolute(f.url)) f.url = resolve(dirname(manifestPath), f.url);
  mkdirSync(qs, { recursive: true });
  packManifest = join(qs, 'quickstart-offline.yaml');
  writeFileSync(packManifest, YAML.stringify(manifest));
}

const packed = JSON.parse(airgap(['pack', packManifest, '--out', join(qs, 'bundles'), '--key', key, '--cache', join(qs, 'cache'), '--json'], { capture: true }));
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
