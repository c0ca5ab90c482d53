#!/usr/bin/env node
// @ts-check
// Bundle writer and verifier speed against peer tools (docs/design.md, issue 16), whole processes side by side:
//   writeBundle            vs `tar -cf - DIR | split -b PART && sync`      goal: ours/peer ≤ 1.30
//   `airgap verify` (CLI)  vs one node process reading + SHA-256 the parts  goal: peer/ours rate ≥ 1.0 (moonshot 1.5)
//   `airgap verify` (CLI)  vs `sha256sum part-*`                            (printed, the C peer)
//   verifyBundle in-process vs the same stream in-process                   goal: ≥ 0.70 (docs/design.md)
//
// Input: BENCH_GIB (default 1; --quick 1/16) GiB of incompressible files in .bench/ (kept across runs),
// put into a ContentStore (not timed), written as 4 parts. Rounds alternate the order; medians are
// reported. BENCH_ROUNDS (default 3; --quick 1).
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync, openSync, writeSync, readSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContentStore } from '@airgap/core';
import { generateKeyPair, readPublicKey, readSecretKey, verifyBundle, writeBundle, writeKeyPair } from '@airgap/bundle';
import { cliBin, median, quick, report, root, runProcess } from './lib.mjs';

const GIB = Number(process.env.BENCH_GIB ?? (quick ? 1 / 16 : 1));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
const PARTS = 4;
const work = join(root, '.bench', `bundle-${GIB}g`);
const storeDir = join(work, 'store');
const outDir = join(work, 'out');
const totalTarget = Math.round(GIB * 2 ** 30);
// The tar adds headers and padding: round the part size up so the bundle has exactly PARTS parts.
const CHUNK = Math.ceil((totalTarget * 1.01) / PARTS);

/**
 * The peer: one stream, read + SHA-256 over the part files; one reused buffer, synchronous reads. The
 * buffer is 128 KiB, the size PartHasher reads (packages/bundle/src/part-hash.ts): the fastest single
 * stream measured here (1 MiB reads cost ~1.5× the CPU, in system time), so the ratio is the gain of
 * verify's threads and nothing else. BENCH_PEER_READ_KIB overrides it (1024: the peer of earlier runs).
 */
const PEER_READ = Number(process.env.BENCH_PEER_READ_KIB ?? 128) << 10;
function hashParts() {
  const dir = readFileSync(join(work, 'last-bundle'), 'utf8');
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(PEER_READ);
  for (const f of readdirSync(dir).filter((f) => f.startsWith('part-')).sort()) {
    const fd = openSync(join(dir, f), 'r');
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
    closeSync(fd);
  }
  return h.digest('hex');
}

// ---- child modes: one measured operation per process ----
if (process.argv[2] === 'child') {
  const mode = process.argv[3];
  const state = JSON.parse(readFileSync(join(work, 'state.json'), 'utf8'));
  const store = new ContentStore(storeDir);
  const t0 = process.hrtime.bigint();
  if (mode === 'write') {
    const key = await readSecretKey(join(work, 'bench.key'));
    const r = await writeBundle({
      outDir: join(outDir, 'ours'), name: 'bench', created: new Date(), index: state.index, chunkSize: CHUNK, key, toolVersion: 'bench',
      blobs: state.index.blobs.map((/** @type {import('@airgap/core').Descriptor} */ d) => ({ descriptor: d, open: () => store.open(d.digest), path: store.path(d.digest) })),
    });
    if (r.descriptor.parts.length !== PARTS) throw new Error(`expected ${PARTS} parts, got ${r.descriptor.parts.length}`);
    writeFileSync(join(work, 'last-bundle'), r.dir);
  } else if (mode === 'verify') {
    const dir = readFileSync(join(work, 'last-bundle'), 'utf8');
    await verifyBundle(dir, { trust: [await readPublicKey(join(work, 'bench.pub'))] });
  } else if (mode === 'hash') {
    hashParts();
  }
  // In-process time (module loading excluded) for the library rows; the parent times the whole process.
  process.stdout.write(JSON.stringify({ secs: Number(process.hrtime.bigint() - t0) / 1e9 }));
  process.exit(0);
}

// ---- setup (not timed) ----
mkdirSync(work, { recursive: true });
if (!existsSync(join(work, 'state.json'))) {
  const filesDir = join(work, 'files');
  console.log(`bench: making ${GIB} GiB of random files in ${filesDir} (once)`);
  rmSync(filesDir, { recursive: true, force: true });
  mkdirSync(filesDir, { recursive: true });
  // A mix like a real bundle: many small files, some medium, a few large layers.
  const sizes = [];
  let left = totalTarget;
  const pattern = [4 << 10, 200 << 10, 3 << 20, 40 << 20, 300 << 20];
  for (let i = 0; left > 0; i++) {
    const s = Math.min(left, pattern[i % pattern.length] + (i % 7) * 4096 + 123);
    sizes.push(s);
    left -= s;
  }
  const buf = Buffer.allocUnsafe(4 << 20);
  sizes.forEach((size, n) => {
    const fd = openSync(join(filesDir, `f${String(n).padStart(5, '0')}`), 'w');
    for (let w = 0; w < size; ) {
      const k = Math.min(buf.length, size - w);
      randomFillSync(buf, 0, k);
      writeSync(fd, buf, 0, k);
      w += k;
    }
    closeSync(fd);
  });
  const store = new ContentStore(storeDir);
  const blobs = [];
  for (const f of readdirSync(filesDir).sort()) blobs.push(await store.put(createReadStream(join(filesDir, f), { highWaterMark: 1 << 20 })));
  const index = {
    schema: 'airgap.index/v1', name: 'bench', created: new Date().toISOString(), blobs,
    artifacts: blobs.map((d, n) => ({ kind: 'file', name: `f${n}`, version: '1', digest: d.digest, blobs: [d], upstream: { url: 'file:///bench', verified: 'none given' } })),
  };
  rmSync(join(work, 'bench.key'), { force: true });
  rmSync(join(work, 'bench.pub'), { force: true });
  await writeKeyPair(work, 'bench', generateKeyPair(), {});
  writeFileSync(join(work, 'state.json'), JSON.stringify({ index }));
  rmSync(filesDir, { recursive: true, force: true });
}
const state = JSON.parse(readFileSync(join(work, 'state.json'), 'utf8'));
const totalBytes = state.index.blobs.reduce((/** @type {number} */ n, /** @type {{ size: number }} */ b) => n + b.size, 0);

const self = fileURLToPath(import.meta.url);
const peerDir = join(outDir, 'peer');
const blobsDir = join(storeDir, 'blobs');
/** @param {string} mode */
const child = (mode) => {
  const r = runProcess(process.execPath, [self, 'child', mode]);
  return { ...r, inner: JSON.parse(r.stdout).secs };
};
const bundleDir = () => readFileSync(join(work, 'last-bundle'), 'utf8');
/** @type {Record<string, () => { secs: number, rssMiB: number, inner?: number }>} */
const cases = {
  write: () => {
    rmSync(join(outDir, 'ours'), { recursive: true, force: true });
    return child('write');
  },
  tarSplitSync: () => {
    rmSync(peerDir, { recursive: true, force: true });
    mkdirSync(peerDir, { recursive: true });
    return runProcess('sh', ['-c', `tar -cf - -C "$1" . | split -b ${CHUNK} -a 5 - "$2/part-" && sync "$2"/part-*`, 'sh', blobsDir, peerDir]);
  },
  cliVerify: () => runProcess(process.execPath, [cliBin, 'verify', bundleDir(), '--pub', join(work, 'bench.pub')], { cwd: work }),
  libVerify: () => child('verify'),
  nodeHash: () => child('hash'),
  sha256sum: () => runProcess('sha256sum', readdirSync(bundleDir()).filter((f) => f.startsWith('part-')).sort().map((f) => join(bundleDir(), f))),
};

/** @type {Record<string, { secs: number, rssMiB: number, inner?: number }[]>} */
const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
console.log(`bundle bench: ${(totalBytes / 2 ** 30).toFixed(3)} GiB in ${state.index.blobs.length} blobs, ${PARTS} parts, ${ROUNDS} round(s) (median)`);
for (let r = 0; r < ROUNDS; r++) {
  // Alternate the order each round so neither side always runs on a warmer cache; write comes first (verify needs a bundle).
  const order = r % 2 === 0 ? ['write', 'tarSplitSync', 'cliVerify', 'nodeHash', 'libVerify', 'sha256sum'] : ['tarSplitSync', 'write', 'sha256sum', 'libVerify', 'nodeHash', 'cliVerify'];
  for (const k of order) {
    spawnSync('sync'); // each case starts from a quiet disk
    results[k].push(cases[k]());
  }
}
rmSync(peerDir, { recursive: true, force: true });

/** @param {string} k */
const secs = (k) => median(results[k].map((x) => x.secs));
/** @param {string} k */
const inner = (k) => median(results[k].map((x) => x.inner ?? NaN));
const mibs = (/** @type {number} */ s) => `${(totalBytes / 2 ** 20 / s).toFixed(0)} MiB/s`;
for (const k of Object.keys(cases)) console.log(`  ${k.padEnd(14)} ${secs(k).toFixed(3).padStart(8)} s  ${mibs(secs(k)).padStart(11)}  peak RSS ${Math.max(...results[k].map((x) => x.rssMiB)).toFixed(0)} MiB  (whole process)`);

const size = `${(totalBytes / 2 ** 30).toFixed(2)} GiB, ${PARTS} parts`;
const writeRatio = secs('write') / secs('tarSplitSync');
report({ figure: `write time, writeBundle / (tar | split && sync), ${size}`, value: writeRatio, unit: '×', goal: '≤ 1.30', met: writeRatio <= 1.3, peer: 'tar -cf - | split -b && sync' });
const cliRate = secs('nodeHash') / secs('cliVerify');
report({ figure: `verify rate, airgap verify (whole CLI) / one read+SHA-256 stream (whole node process), ${size}`, value: cliRate, unit: '×', goal: '≥ 1.0 (moonshot 1.5)', met: cliRate >= 1.0, peer: `node: readSync ${PEER_READ >> 10} KiB + createHash(sha256), one stream` });
const sumRate = secs('sha256sum') / secs('cliVerify');
report({ figure: `verify rate, airgap verify (whole CLI) / sha256sum part-*, ${size}`, value: sumRate, unit: '×', goal: '≥ 0.70', met: sumRate >= 0.7, peer: 'sha256sum part-* (coreutils)' });
const libRate = inner('nodeHash') / inner('libVerify');
report({ figure: `verify rate, verifyBundle / read+SHA-256 stream, in-process, ${size}`, value: libRate, unit: '×', goal: '≥ 0.70 (docs/design.md)', met: libRate >= 0.7, peer: 'the same stream, module loading excluded' });
