#!/usr/bin/env node
// @ts-check
// OCI pack and unpack speed against skopeo (docs/design.md, issue 16), whole processes, same images, same
// docker-registry on loopback:
//   airgap pack   (registry A → signed bundle, cache and parts fsync'd)
//     vs skopeo copy docker://A/img → oci:LAYOUT for each image, then tar -cf - LAYOUT | split -b && sync
//   airgap unpack (verify every part, then push into a fresh registry D)
//     vs skopeo copy oci:LAYOUT:img → docker://C/img for each image, into a fresh registry C
//   and, from unpack's timestamped phase lines, its start-up, verify and publish times (the publish phase
//   alone against skopeo too), with the requests each registry answered (their access logs).
// goal: ours/skopeo ≤ 1.0 each (moonshot 0.7). Images: 4 × 2 random tar layers (GNU tar), BENCH_OCI_MIB
// in total (default 400; --quick 32), pushed into A with skopeo. Medians of BENCH_ROUNDS (default 3;
// --quick 1) alternating rounds; every destination is fresh. BENCH_CPU_PROF=DIR writes a --cpu-prof
// profile of each of our runs into DIR (what bounds them).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildImageLayout, cliBin, median, phaseTimes, quick, report, requestCounts, runProcess, startDockerRegistry } from './lib.mjs';

const totalMiB = Number(process.env.BENCH_OCI_MIB ?? (quick ? 32 : 400));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
const IMAGES = 4;
const LAYERS = 2;
const layerMiB = Math.max(1, Math.ceil(totalMiB / (IMAGES * LAYERS)));
const CHUNK = `${Math.ceil((IMAGES * LAYERS * layerMiB) / 4)}MiB`;
const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
const work = mkdtempSync(join(tmpdir(), 'airgap-bench-oci-'));
/** @type {import('execa').ResultPromise[]} */
const registries = [];

/** @param {string} name @param {{ accessLog?: boolean }} [o] @returns {Promise<string>} host:port */
async function startRegistry(name, o) {
  const r = await startDockerRegistry(join(work, 'reg-' + name), o);
  registries.push(r.proc);
  return r.host;
}

/** Stop every registry but the source A, and remove their storage. */
async function stopRegistries() {
  const gone = registries.splice(1);
  for (const p of gone) p.kill('SIGTERM');
  await Promise.allSettled(gone);
  for (const d of readdirSync(work)) if (d.startsWith('reg-') && d !== 'reg-a') rmSync(join(work, d), { recursive: true, force: true });
}

try {
  const mib = IMAGES * LAYERS * layerMiB;
  console.log(`oci bench: ${IMAGES} images × ${LAYERS} layers × ${layerMiB} MiB = ${mib} MiB, docker-registry on loopback, ${ROUNDS} round(s)`);
  const layout = await buildImageLayout(work, { images: IMAGES, layers: LAYERS, layerMiB });
  const A = await startRegistry('a');
  for (let i = 0; i < IMAGES; i++) await execa('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:img${i}`, `docker://${A}/bench/img${i}:1`]);
  const refs = Array.from({ length: IMAGES }, (_, i) => `${A}/bench/img${i}:1`);
  const keys = join(work, 'keys');
  runProcess(process.execPath, [cliBin, 'keygen', '--out-dir', keys, '--name', 'bench'], { cwd: work });
  const manifestFile = join(work, 'bench.yaml');
  writeFileSync(manifestFile, `apiVersion: airgap/v1\nkind: Bundle\nname: bench\nimages:\n${refs.map((r) => `  - ref: ${r}\n    signatures: false\n`).join('')}`);

  /** @type {Record<'skPack' | 'ourPack' | 'skUnpack' | 'ourUnpack', number[]>} */
  const t = { skPack: [], ourPack: [], skUnpack: [], ourUnpack: [] };
  /** Our unpack's phases per round (start-up, verify, publish, the rest), from its timestamped stderr. */
  /** @type {Record<'startup' | 'verify' | 'publish' | 'rest', number[]>} */
  const phase = { startup: [], verify: [], publish: [], rest: [] };
  /** @type {Record<string, number>} */
  let skRequests = {};
  /** @type {Record<string, number>} */
  let ourRequests = {};
  for (let round = 0; round < ROUNDS; round++) {
    const skLayout = join(work, `skopeo-oci-${round}`);
    const skParts = join(work, `skopeo-parts-${round}`);
    const skopeoPack = () => {
      mkdirSync(skParts, { recursive: true });
      let secs = 0;
      for (const r of refs) secs += runProcess('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${r}`, `oci:${skLayout}:${r.split('/').pop()}`]).secs;
      secs += runProcess('sh', ['-c', `tar -cf - -C "$1" . | split -b ${CHUNK.replace('MiB', 'M')} -a 5 - "$2/part-" && sync "$2"/part-*`, 'sh', skLayout, skParts]).secs;
      t.skPack.push(secs);
    };
    const cache = join(work, `cli-cache-${round}`);
    let bundleDir = '';
    const ourPack = () => {
      const r = runProcess(process.execPath, [...prof, cliBin, 'pack', manifestFile, '--out', join(work, `cli-out-${round}`), '--chunk-size', CHUNK, '--key', join(keys, 'bench.key'), '--cache', cache, '--json'], { cwd: work });
      bundleDir = JSON.parse(r.stdout).bundle;
      t.ourPack.push(r.secs);
    };
    if (round % 2 === 0) { skopeoPack(); ourPack(); } else { ourPack(); skopeoPack(); }

    const C = await startRegistry(`c${round}`, { accessLog: true });
    const D = await startRegistry(`d${round}`, { accessLog: true });
    const configFile = join(work, `airgap-${round}.yaml`);
    writeFileSync(configFile, `targets:\n  bench:\n    type: registries\n    endpoints: { docker: "http://${D}/" }\n`);
    const skopeoUnpack = () => {
      let secs = 0;
      for (const r of refs) secs += runProcess('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${skLayout}:${r.split('/').pop()}`, `docker://${C}/bench/${r.split('/').pop()}`]).secs;
      t.skUnpack.push(secs);
    };
    const ourUnpack = () => {
      // Without --json: the phase lines (timestamped without a terminal) give start-up, verify and publish.
      const r = runProcess(process.execPath, [...prof, cliBin, 'unpack', bundleDir, '--to', 'bench', '--pub', join(keys, 'bench.pub'), '--config', configFile, '--ledger', join(work, `ledger-${round}.jsonl`)], { cwd: work });
      t.ourUnpack.push(r.secs);
      const p = phaseTimes(r);
      const of = (/** @type {RegExp} */ re) => p.phases.filter((x) => re.test(x.name)).reduce((n, x) => n + x.secs, 0);
      phase.startup.push(p.startup);
      phase.verify.push(of(/^Verifying/));
      phase.publish.push(of(/^Publishing/));
      phase.rest.push(r.secs - p.startup - of(/^Verifying/) - of(/^Publishing/));
    };
    if (round % 2 === 0) { skopeoUnpack(); ourUnpack(); } else { ourUnpack(); skopeoUnpack(); }
    skRequests = requestCounts(join(work, `reg-c${round}`));
    ourRequests = requestCounts(join(work, `reg-d${round}`));
    for (const d of [skLayout, skParts, cache, join(work, `cli-out-${round}`)]) rmSync(d, { recursive: true, force: true });
    await stopRegistries();
  }
  for (const [k, v] of Object.entries(t)) console.log(`  ${k.padEnd(10)} ${median(v).toFixed(2).padStart(7)} s  (${(mib / median(v)).toFixed(0)} MiB/s)   rounds: ${v.map((x) => x.toFixed(2)).join(' ')}`);
  const pack = median(t.ourPack) / median(t.skPack);
  report({ figure: `airgap pack / skopeo, ${IMAGES} images, ${mib} MiB`, value: pack, unit: '×', goal: '≤ 1.0 (moonshot 0.7)', met: pack <= 1.0, peer: 'skopeo copy docker:// → oci: per image, then tar | split && sync' });
  const unpack = median(t.ourUnpack) / median(t.skUnpack);
  report({ figure: `airgap unpack / skopeo, ${IMAGES} images, ${mib} MiB`, value: unpack, unit: '×', goal: '≤ 1.0 (moonshot 0.7)', met: unpack <= 1.0, peer: 'skopeo copy oci: → docker:// per image (no verify)' });
  // Where our unpack's time goes: the verify phase (every part read and hashed before the first push,
  // docs/security.md) has no counterpart in the peer; the publish phase is the like-for-like part.
  const share = (/** @type {number[]} */ xs) => `${median(xs).toFixed(2)} s (${((median(xs) / median(t.ourUnpack)) * 100).toFixed(0)}%)`;
  console.log(`  airgap unpack phases (medians): start-up ${share(phase.startup)}, verify ${share(phase.verify)}, publish ${share(phase.publish)}, rest ${share(phase.rest)}`);
  const fmtReq = (/** @type {Record<string, number>} */ c) => Object.entries(c).sort().map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`  registry requests, last round: skopeo: ${fmtReq(skRequests)}`);
  console.log(`                                 airgap: ${fmtReq(ourRequests)}`);
  const publish = median(phase.publish) / median(t.skUnpack);
  report({ figure: `airgap unpack's publish phase / skopeo, ${IMAGES} images, ${mib} MiB`, value: publish, unit: '×', goal: '≤ 1.0 (the push itself)', met: publish <= 1.0, peer: 'skopeo copy oci: → docker:// per image (whole processes)' });
} finally {
  for (const p of registries) p.kill('SIGTERM');
  await Promise.allSettled(registries);
  rmSync(work, { recursive: true, force: true });
}
