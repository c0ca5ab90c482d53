#!/usr/bin/env node
// @ts-check
// docs/design.md memory: peak RSS of pack, verify and unpack of a BENCH_RSS_GIB (default 4; --quick 1/8) GiB
// bundle, measured in the CLI's own process. Files are incompressible and reused from .bench/ across runs.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quick, report } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gib = Number(process.env.BENCH_RSS_GIB ?? (quick ? 1 / 8 : 4));
const work = join(root, '.bench', 'rss');
const src = join(work, `files-${gib}g`);
const fileCount = Math.max(1, Math.round(gib * 4)); // 256 MiB files
const fileSize = Math.round((gib * 1024 ** 3) / fileCount);

/** @param {string} path @param {number} size */
async function makeFile(path, size) {
  if (existsSync(path) && statSync(path).size === size) return;
  const out = createWriteStream(path);
  const buf = Buffer.alloc(1 << 22);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, buf.length);
    randomFillSync(buf, 0, n);
    if (!out.write(n === buf.length ? buf : buf.subarray(0, n))) await new Promise((r) => out.once('drain', () => r(undefined)));
    left -= n;
  }
  await new Promise((r) => out.end(() => r(undefined)));
}

/** @param {string[]} args */
function airgap(args) {
  const r = spawnSync(process.execPath, [join(root, 'test', 'bench', 'with-maxrss.mjs'), ...args], { cwd: work, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`airgap ${args[0]} failed (${r.status}): ${r.stderr}`);
  const kib = Number(/maxrss-kib (\d+)/.exec(r.stderr)?.[1]);
  return { stdout: r.stdout, mib: kib / 1024 };
}

mkdirSync(src, { recursive: true });
console.log(`rss: preparing ${gib} GiB in ${fileCount} files…`);
for (let i = 0; i < fileCount; i++) await makeFile(join(src, `f${i}.bin`), fileSize);
const manifest = join(work, 'rss.yaml');
writeFileSync(manifest, `apiVersion: airgap/v1\nkind: Bundle\nname: rss\nfiles:\n${Array.from({ length: fileCount }, (_, i) => `  - url: ${join(src, `f${i}.bin`)}\n    path: bench/\n`).join('')}`);
for (const d of ['out', 'mirror', 'cache']) rmSync(join(work, d), { recursive: true, force: true });
rmSync(join(work, 'ledger.jsonl'), { force: true });
if (!existsSync(join(work, 'keys', 'bench.key'))) airgap(['keygen', '--out-dir', join(work, 'keys'), '--name', 'bench']);

const t0 = Date.now();
const packed = airgap(['pack', manifest, '--out', join(work, 'out'), '--key', join(work, 'keys', 'bench.key'), '--cache', join(work, 'cache'), '--json']);
const tPack = (Date.now() - t0) / 1000;
const bundle = JSON.parse(packed.stdout).bundle;
const t1 = Date.now();
const verified = airgap(['verify', bundle, '--pub', join(work, 'keys', 'bench.pub'), '--json']);
const tVerify = (Date.now() - t1) / 1000;
const t2 = Date.now();
const unpacked = airgap(['unpack', bundle, '--to', `dir:${join(work, 'mirror')}`, '--pub', join(work, 'keys', 'bench.pub'), '--ledger', join(work, 'ledger.jsonl'), '--json']);
const tUnpack = (Date.now() - t2) / 1000;

console.log(`\npeak RSS for a ${gib} GiB bundle (docs/design.md: under 256 MiB each)`);
console.log(`  pack    ${packed.mib.toFixed(0).padStart(5)} MiB   (${tPack.toFixed(1)} s, includes hashing ${gib} GiB into the cache)`);
console.log(`  verify  ${verified.mib.toFixed(0).padStart(5)} MiB   (${tVerify.toFixed(1)} s)`);
console.log(`  unpack  ${unpacked.mib.toFixed(0).padStart(5)} MiB   (${tUnpack.toFixed(1)} s, includes the verify)`);
for (const d of ['out', 'mirror', 'cache']) rmSync(join(work, d), { recursive: true, force: true });
for (const [what, r] of /** @type {const} */ ([['pack', packed], ['verify', verified], ['unpack', unpacked]])) {
  report({ figure: `peak RSS of airgap ${what}, ${gib} GiB bundle`, value: r.mib, unit: 'MiB', goal: '< 256 MiB', met: r.mib < 256, peer: 'absolute bound (docs/design.md)' });
}
