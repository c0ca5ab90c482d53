#!/usr/bin/env node
// OCI pull/push speed against skopeo (SPEC §9: "OCI pull and push at least as fast as skopeo copy on the
// same images and registry"). Run after `npm run build`: `node test/bench/oci.mjs [totalMiB]`.
//
// Images: 4 images × 2 layers of random bytes (tar layers made with GNU tar, config + manifest as an
// OCI layout), ≥ 512 MiB in total, pushed with skopeo into a local docker-registry A. Then, each in a
// fresh place:
//   pull:  ours A → content store (what `pack` does before writing the bundle)   vs  skopeo copy docker://A → oci:DIR
//   push:  ours content store → registry B (blobs re-hashed while streaming,      vs  skopeo copy oci:DIR → docker://C
//          as unpack's verified blob source does)
//   both:  ours pull + push                                                      vs  skopeo copy docker://A → docker://C2
//   and, when the CLI is built: `airgap pack` (A → signed bundle) and `airgap unpack` (verify all parts,
//   then push into a fresh registry D) against the same skopeo numbers.
// Ratios are ours/skopeo wall time (< 1 is faster), medians of BENCH_ROUNDS (default 3) alternating
// rounds. Peak RSS of each of our runs is measured in its own process.
import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Transform } from 'node:stream';
import { execa } from 'execa';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

if (process.argv[2] === '--child') {
  await child(JSON.parse(process.argv[3]));
  process.exit(0);
}

const totalMiB = Number(process.argv[2] ?? 512);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IMAGES = 4;
const LAYERS = 2;
const layerMiB = Math.ceil(totalMiB / (IMAGES * LAYERS));
const work = mkdtempSync(join(tmpdir(), 'airgap-bench-oci-'));
const registries = [];

async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRegistry(name) {
  const dir = join(work, 'reg-' + name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, 'config.yml'), `version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: ${join(dir, 'storage')} } }
http: { addr: 127.0.0.1:${port} }
`);
  const proc = execa('docker-registry', ['serve', join(dir, 'config.yml')], { reject: false, stdio: 'ignore' });
  registries.push(proc);
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).status === 200) return `127.0.0.1:${port}`;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('docker-registry did not start');
}

/** Stop every registry started after the first `keep` (the source registry stays). */
async function stopRegistries(keep) {
  const gone = registries.splice(keep);
  for (const p of gone) p.kill('SIGTERM');
  await Promise.allSettled(gone);
  for (const d of readdirSync(work)) if (d.startsWith('reg-') && d !== 'reg-a') rmSync(join(work, d), { recursive: true, force: true });
}

function sha256File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('end', () => resolve('sha256:' + h.digest('hex'))).on('error', reject);
  });
}

async function writeBlob(layout, bytes) {
  const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

/** An OCI layout with IMAGES images of LAYERS random tar layers each, made with GNU tar. */
async function buildLayout() {
  const layout = join(work, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests = [];
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < IMAGES; i++) {
    const layers = [];
    for (let l = 0; l < LAYERS; l++) {
      const src = join(work, `src-${i}-${l}`);
      mkdirSync(src, { recursive: true });
      const out = createWriteStream(join(src, 'data.bin'));
      for (let m = 0; m < layerMiB; m++) {
        randomFillSync(chunk);
        if (!out.write(Buffer.from(chunk))) await new Promise((r) => out.once('drain', r));
      }
      await new Promise((r) => out.end(r));
      const tarFile = join(work, `layer-${i}-${l}.tar`);
      await execa('tar', ['-cf', tarFile, '-C', src, 'data.bin']);
      rmSync(src, { recursive: true });
      const digest = await sha256File(tarFile);
      const size = statSync(tarFile).size;
      await execa('mv', [tarFile, join(layout, 'blobs', 'sha256', digest.slice(7))]);
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size });
    }
    const config = await writeBlob(layout, Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    })));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers,
    }));
    const m = await writeBlob(layout, manifest);
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': `img${i}` } });
  }
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  return layout;
}

async function timed(fn) {
  const t = process.hrtime.bigint();
  const r = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, r };
}

/** Time one CLI run; its peak RSS is printed by report-rss.mjs, preloaded into it. */
async function timedCli(args) {
  const t = process.hrtime.bigint();
  const r = await execa(process.execPath, [join(root, 'bin', 'run.js'), ...args], { cwd: work, reject: false, env: { ...process.env, NODE_OPTIONS: `--import ${join(here, 'report-rss.mjs')}` } });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.exitCode !== 0) throw new Error(`airgap ${args[0]} failed (${r.exitCode}): ${r.stderr}`);
  const rss = /airgap-bench-maxrss-kib=(\d+)/.exec(r.stderr);
  return { ms, maxRssMiB: rss ? Number(rss[1]) / 1024 : NaN, stdout: r.stdout };
}

async function runChild(job) {
  const { stdout } = await execa(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], { cwd: root });
  return JSON.parse(stdout.trim().split('\n').pop());
}

/** Our side, in a child process so its peak RSS is its own. */
async function child(job) {
  const core = await import('@airgap/core');
  const { images } = await import('@airgap/oci');
  const http = new core.HttpClient({ proxy: 'none' });
  const store = new core.ContentStore(job.store);
  const log = core.silentLogger;
  const started = process.hrtime.bigint();
  if (job.mode === 'pull' || job.mode === 'both') {
    const ctx = { store, http, config: {}, log, progress() {}, manifestDir: job.store, concurrency: 4, dryRun: false };
    ctx.transfer = new core.Transfers({ store, http, concurrency: 4, progress() {}, log });
    const arts = [];
    for (const ref of job.refs) arts.push(...(await images.source.resolve({ ref }, ctx)));
    // Images one after another, blobs of each 4 at a time (the pipeline's per-kind concurrency is the same order).
    for (const a of arts) await images.source.fetch(a, ctx);
    writeFileSync(join(job.store, 'artifacts.json'), JSON.stringify(arts));
  }
  if (job.mode === 'push' || job.mode === 'both') {
    const arts = JSON.parse(readFileSync(join(job.store, 'artifacts.json'), 'utf8'));
    const verifying = (d) => {
      const h = createHash('sha256');
      return store.open(d.digest).pipe(new Transform({
        transform(c, _e, cb) { h.update(c); cb(null, c); },
        flush(cb) { cb('sha256:' + h.digest('hex') === d.digest ? null : new Error('digest mismatch ' + d.digest)); },
      }));
    };
    const target = { type: 'registries', name: 'bench', config: { type: 'registries', endpoints: { docker: `http://${job.target}/` }, imageNames: 'strip-host' } };
    const ctx = {
      target, blobs: { open: verifying }, http, config: {}, log, progress() {}, bundle: { name: 'bench', created: '' }, dryRun: false,
      concurrency: 4, transfer: new core.Transfers({ http, concurrency: 4, progress() {}, log }),
      services: { endpoints: core.registriesEndpoints('bench', target.config, {}) },
    };
    for (const a of arts) {
      if ((await images.publish.endpoint.exists(a, ctx)) !== 'present') await images.publish.endpoint.publish(a, ctx);
    }
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await http.close();
  console.log(JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

try {
  console.log(`oci bench: ${IMAGES} images × ${LAYERS} layers × ${layerMiB} MiB = ${IMAGES * LAYERS * layerMiB} MiB, docker-registry on loopback`);
  const layout = await buildLayout();
  const A = await startRegistry('a');
  for (let i = 0; i < IMAGES; i++) await execa('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:img${i}`, `docker://${A}/bench/img${i}:1`]);
  const refs = Array.from({ length: IMAGES }, (_, i) => `${A}/bench/img${i}:1`);

  // Alternating rounds, fresh destinations each time; the median of each is reported (a 2-core VM is noisy).
  const results = { skPull: [], skPush: [], skBoth: [], ourPull: [], ourPush: [], ourBoth: [], ourPack: [], ourUnpack: [] };
  // The whole CLI too, when it is built: pack (registry → signed bundle, cache fsync'd) and unpack
  // (verify every part, then push) — the flows an operator runs.
  const cli = existsSync(join(root, 'dist', 'src', 'commands', 'pack.js'));
  const manifestFile = join(work, 'bench.yaml');
  const configFile = join(work, 'airgap.yaml');
  if (cli) {
    mkdirSync(join(work, 'keys'));
    await execa(process.execPath, [join(root, 'bin', 'run.js'), 'keygen', '--out-dir', join(work, 'keys'), '--name', 'bench']);
    writeFileSync(manifestFile, `apiVersion: airgap/v1\nkind: Bundle\nname: bench\nimages:\n${refs.map((r) => `  - ref: ${r}\n    signatures: false\n`).join('')}`);
  }
  for (let round = 0; round < ROUNDS; round++) {
    const skPullDir = join(work, `skopeo-oci-${round}`);
    results.skPull.push(await timed(async () => {
      for (const r of refs) await execa('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${r}`, `oci:${skPullDir}:${r.split('/').pop()}`]);
    }));
    const store = join(work, `store-${round}`);
    results.ourPull.push(await runChild({ mode: 'pull', refs, store }));

    const C = await startRegistry(`c${round}`);
    results.skPush.push(await timed(async () => {
      for (const r of refs) await execa('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${skPullDir}:${r.split('/').pop()}`, `docker://${C}/bench/${r.split('/').pop()}`]);
    }));
    const B = await startRegistry(`b${round}`);
    results.ourPush.push(await runChild({ mode: 'push', store, target: B }));

    const C2 = await startRegistry(`c2-${round}`);
    results.skBoth.push(await timed(async () => {
      for (const r of refs) await execa('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${r}`, `docker://${C2}/bench/${r.split('/').pop()}`]);
    }));
    const B2 = await startRegistry(`b2-${round}`);
    results.ourBoth.push(await runChild({ mode: 'both', refs, store: join(work, `store2-${round}`), target: B2 }));
    if (cli) {
      const cache = join(work, `cli-cache-${round}`);
      const out = join(work, `cli-out-${round}`);
      const packed = await timedCli(['pack', manifestFile, '--out', out, '--key', join(work, 'keys', 'bench.key'), '--cache', cache, '--json']);
      results.ourPack.push(packed);
      const bundleDir = JSON.parse(packed.stdout).bundle;
      const D = await startRegistry(`d${round}`);
      writeFileSync(configFile, `targets:\n  bench:\n    type: registries\n    endpoints: { docker: "http://${D}/" }\n`);
      results.ourUnpack.push(await timedCli(['unpack', bundleDir, '--to', 'bench', '--pub', join(work, 'keys', 'bench.pub'), '--config', configFile, '--ledger', join(work, `ledger-${round}.jsonl`), '--json']));
      for (const d of [cache, out]) rmSync(d, { recursive: true, force: true });
    }
    for (const d of [skPullDir, store, join(work, `store2-${round}`)]) rmSync(d, { recursive: true, force: true });
      await stopRegistries(1);
  }
  const median = (xs) => [...xs].sort((a, b) => a.ms - b.ms)[Math.floor(xs.length / 2)];
  const maxRss = (xs) => Math.max(...xs.map((x) => x.maxRssMiB));

  const mib = IMAGES * LAYERS * layerMiB;
  const row = (what, oursAll, skAll) => {
    const ours = median(oursAll);
    const sk = median(skAll);
    console.log(`${what.padEnd(50)} ours ${(ours.ms / 1000).toFixed(2)} s (${(mib / (ours.ms / 1000)).toFixed(0)} MiB/s, peak RSS ${maxRss(oursAll).toFixed(0)} MiB)  skopeo ${(sk.ms / 1000).toFixed(2)} s  ratio ours/skopeo ${(ours.ms / sk.ms).toFixed(2)}`);
  };
  console.log(`median of ${ROUNDS} rounds; ratio < 1 means faster than skopeo`);
  row('pull: library A → content store vs skopeo A → oci:', results.ourPull, results.skPull);
  row('push: library store → B vs skopeo oci: → C', results.ourPush, results.skPush);
  row('both: library A → store → B vs skopeo A → C', results.ourBoth, results.skBoth);
  if (cli) {
    row('airgap pack (A → signed bundle) vs skopeo A → oci:', results.ourPack, results.skPull);
    row('airgap unpack (verify + push → D) vs skopeo oci: → C', results.ourUnpack, results.skPush);
    row('airgap pack + unpack vs skopeo A → C', results.ourPack.map((p, i) => ({ ms: p.ms + results.ourUnpack[i].ms, maxRssMiB: Math.max(p.maxRssMiB, results.ourUnpack[i].maxRssMiB) })), results.skBoth);
  } else {
    console.log('CLI not built (dist/src/commands/pack.js missing): airgap pack/unpack rows left out; run npm run build');
  }
} finally {
  for (const p of registries) p.kill('SIGTERM');
  await Promise.allSettled(registries);
  rmSync(work, { recursive: true, force: true });
}
