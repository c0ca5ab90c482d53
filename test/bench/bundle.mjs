#!/usr/bin/env node
// Bundle writer and verifier speed and memory against peer tools (SPEC §9):
//   writeBundle   vs `tar -cf - DIR | split -b 1G`           (bar: ours/peer ≤ 1.3)
//   verifyBundle  vs a single-stream read + SHA-256 of the parts (node:crypto; `sha256sum` as a second peer)
//                                                              (bar: peer/ours rate ratio ≥ 0.70)
// and the peak RSS of writeBundle and verifyBundle (bar: < 256 MiB), each measured in its own child process.
//
// Input: BENCH_GIB (default 2) GiB of incompressible files in .bench/ (kept across runs), put into a
// ContentStore (not timed). Rounds alternate ours/peer; medians are reported. BENCH_ROUNDS (default 3).
// Run after a build: `npm run build && node test/bench/bundle.mjs`.
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync, openSync, writeSync, readSync, closeSync, readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const core = await import(pathToFileURL(join(root, 'packages/core/dist/index.js')).href);
const bundle = await import(pathToFileURL(join(root, 'packages/bundle/dist/index.js')).href);

const GIB = Number(process.env.BENCH_GIB ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CHUNK = 1 << 30;
const work = join(root, '.bench', `bundle-${GIB}g`);
const storeDir = join(work, 'store');
const outDir = join(work, 'out');

// ---- child modes: one measured operation per process, so RSS is the operation's own ----
if (process.argv[2] === 'child') {
  const mode = process.argv[3];
  const state = JSON.parse(readFileSync(join(work, 'state.json'), 'utf8'));
  const store = new core.ContentStore(storeDir);
  // Time the operation itself, not node's start-up and module loading (the peers are C programs).
  const t0 = process.hrtime.bigint();
  if (mode === 'write') {
    const key = await bundle.readSecretKey(join(work, 'bench.key'));
    const dir = join(outDir, 'ours');
    const r = await bundle.writeBundle({
      outDir: dir, name: 'bench', created: new Date(), index: state.index, chunkSize: CHUNK, key, toolVersion: 'bench',
      blobs: state.index.blobs.map((d) => ({ descriptor: d, open: () => store.open(d.digest), ...(process.env.BENCH_STREAMS ? {} : { path: store.path(d.digest) }) })),
    });
    writeFileSync(join(work, 'last-bundle'), r.dir);
  } else if (mode === 'verify') {
    const dir = readFileSync(join(work, 'last-bundle'), 'utf8');
    const pub = await bundle.readPublicKey(join(work, 'bench.pub'));
    await bundle.verifyBundle(dir, { trust: [pub] });
  } else if (mode === 'hash') {
    // The peer: one stream, read + SHA-256, over the same part files.
    const dir = readFileSync(join(work, 'last-bundle'), 'utf8');
    // The strongest simple form: one reused 1 MiB buffer, synchronous reads, no stream machinery.
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (const f of readdirSync(dir).filter((f) => f.startsWith('part-')).sort()) {
      const fd = openSync(join(dir, f), 'r');
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
      closeSync(fd);
    }
    h.digest('hex');
  }
  process.stdout.write(JSON.stringify({ secs: Number(process.hrtime.bigint() - t0) / 1e9 }));
  process.exit(0);
}

// ---- setup (not timed) ----
mkdirSync(work, { recursive: true });
const filesDir = join(work, 'files');
if (!existsSync(join(work, 'state.json'))) {
  console.log(`bench: making ${GIB} GiB of random files in ${filesDir} (once)`);
  rmSync(filesDir, { recursive: true, force: true });
  mkdirSync(filesDir, { recursive: true });
  // A mix like a real bundle: many small files, some medium, a few large layers.
  const total = GIB * 2 ** 30;
  const sizes = [];
  let left = total;
  let i = 0;
  const pattern = [4 << 10, 200 << 10, 3 << 20, 40 << 20, 300 << 20];
  while (left > 0) {
    const s = Math.min(left, pattern[i % pattern.length] + (i % 7) * 4096 + 123);
    sizes.push(s);
    left -= s;
    i++;
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
  const store = new core.ContentStore(storeDir);
  const blobs = [];
  for (const f of readdirSync(filesDir).sort()) blobs.push(await store.put(createReadStream(join(filesDir, f), { highWaterMark: 1 << 20 })));
  const index = {
    schema: 'airgap.index/v1', name: 'bench', created: new Date().toISOString(), blobs,
    artifacts: blobs.map((d, n) => ({ kind: 'file', name: `f${n}`, version: '1', digest: d.digest, blobs: [d], upstream: { url: 'file:///bench', verified: 'none given' } })),
  };
  const sk = bundle.generateKeyPair();
  rmSync(join(work, 'bench.key'), { force: true });
  rmSync(join(work, 'bench.pub'), { force: true });
  await bundle.writeKeyPair(work, 'bench', sk, {});
  writeFileSync(join(work, 'state.json'), JSON.stringify({ index }));
  // The files dir is only the source of the store; the peer tars the store's blobs (the same bytes).
  rmSync(filesDir, { recursive: true, force: true });
}
const state = JSON.parse(readFileSync(join(work, 'state.json'), 'utf8'));
const totalBytes = state.index.blobs.reduce((n, b) => n + b.size, 0);

const hasTimeV = spawnSync('/usr/bin/time', ['-v', 'true'], { stdio: 'ignore' }).status === 0;

/** Run a command, return wall seconds and peak RSS (KiB, from /usr/bin/time -v, when available). */
function run(cmd, args) {
  const full = hasTimeV ? ['/usr/bin/time', ['-v', cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  const inner = r.stdout?.startsWith('{') ? JSON.parse(r.stdout).secs : undefined;
  return { secs: inner ?? secs, processSecs: secs, rssKiB: m ? Number(m[1]) : undefined };
}

const self = fileURLToPath(import.meta.url);
const peerDir = join(outDir, 'peer');
const blobsDir = join(storeDir, 'blobs');
const cases = {
  write: () => {
    rmSync(join(outDir, 'ours'), { recursive: true, force: true });
    return run(process.execPath, [self, 'child', 'write']);
  },
  tarSplit: () => {
    rmSync(peerDir, { recursive: true, force: true });
    mkdirSync(peerDir, { recursive: true });
    return run('sh', ['-c', `tar -cf - -C "$1" . | split -b ${CHUNK} -a 5 - "$2/part-"`, 'sh', blobsDir, peerDir]);
  },
  tarSplitSync: () => {
    rmSync(peerDir, { recursive: true, force: true });
    mkdirSync(peerDir, { recursive: true });
    return run('sh', ['-c', `tar -cf - -C "$1" . | split -b ${CHUNK} -a 5 - "$2/part-" && sync "$2"/part-*`, 'sh', blobsDir, peerDir]);
  },
  verify: () => run(process.execPath, [self, 'child', 'verify']),
  nodeHash: () => run(process.execPath, [self, 'child', 'hash']),
  sha256sum: () => {
    const dir = readFileSync(join(work, 'last-bundle'), 'utf8');
    const parts = readdirSync(dir).filter((f) => f.startsWith('part-')).sort().map((f) => join(dir, f));
    return run('sha256sum', parts);
  },
};

const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
console.log(`bench: ${(totalBytes / 2 ** 30).toFixed(2)} GiB in ${state.index.blobs.length} blobs, chunk 1 GiB, ${ROUNDS} rounds (median)`);
for (let r = 0; r < ROUNDS; r++) {
  // Alternate the order each round so neither side always runs on a warmer cache.
  const order = r % 2 === 0 ? ['write', 'tarSplit', 'tarSplitSync', 'verify', 'nodeHash', 'sha256sum'] : ['tarSplitSync', 'tarSplit', 'write', 'sha256sum', 'nodeHash', 'verify'];
  for (const k of order) {
    // Let the previous case's dirty pages reach the disk first: each case starts from a quiet disk.
    spawnSync('sync');
    results[k].push(cases[k]());
  }
}
rmSync(peerDir, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const secs = (k) => median(results[k].map((x) => x.secs));
const rss = (k) => Math.max(...results[k].map((x) => x.rssKiB ?? NaN)) / 1024;
const gib = totalBytes / 2 ** 30;
const rate = (k) => `${((gib * 1024) / secs(k)).toFixed(0)} MiB/s`;
const line = (label, k) => console.log(`  ${label.padEnd(54)} ${secs(k).toFixed(2).padStart(7)} s  ${rate(k).padStart(11)}  peak RSS ${rss(k).toFixed(0)} MiB`);

console.log('write:');
line('writeBundle (hash parts, fsync)', 'write');
console.log(`  ${''.padEnd(54)} ${median(results.write.map((x) => x.processSecs)).toFixed(2).padStart(7)} s  (the whole node process, with start-up)`);
line('tar -cf - | split -b 1G', 'tarSplit');
line('tar -cf - | split -b 1G && sync parts', 'tarSplitSync');
console.log('verify:');
line('verifyBundle (parts + tar + every blob)', 'verify');
console.log(`  ${''.padEnd(54)} ${median(results.verify.map((x) => x.processSecs)).toFixed(2).padStart(7)} s  (the whole node process, with start-up)`);
line('read + SHA-256, one stream (node:crypto, 1 MiB reads)', 'nodeHash');
line('sha256sum part-*', 'sha256sum');

const ratios = {
  writeVsTarSplit: secs('write') / secs('tarSplit'),
  writeVsTarSplitSync: secs('write') / secs('tarSplitSync'),
  verifyRateVsNodeHash: secs('nodeHash') / secs('verify'),
  verifyRateVsSha256sum: secs('sha256sum') / secs('verify'),
  writePeakRssMiB: rss('write'),
  verifyPeakRssMiB: rss('verify'),
};
console.log('ratios:');
console.log(`  write time, ours / (tar | split):            ${ratios.writeVsTarSplit.toFixed(2)}  (bar ≤ 1.30; ours fsyncs every part, the peer does not)`);
console.log(`  write time, ours / (tar | split && sync):    ${ratios.writeVsTarSplitSync.toFixed(2)}  (bar ≤ 1.30, both durable)`);
console.log(`  verify rate, ours / node read+SHA-256:        ${ratios.verifyRateVsNodeHash.toFixed(2)}  (bar ≥ 0.70)`);
console.log(`  verify rate, ours / sha256sum:                ${ratios.verifyRateVsSha256sum.toFixed(2)}  (bar ≥ 0.70)`);
console.log(`  peak RSS: writeBundle ${ratios.writePeakRssMiB.toFixed(0)} MiB, verifyBundle ${ratios.verifyPeakRssMiB.toFixed(0)} MiB (bar < 256 MiB${hasTimeV ? '' : '; /usr/bin/time missing, not measured'})`);
if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ gib, rounds: ROUNDS, seconds: Object.fromEntries(Object.keys(cases).map((k) => [k, secs(k)])), ratios }, null, 2));
