#!/usr/bin/env node
// @ts-check
// OCI pack and unpack speed against skopeo (docs/design.md, issue 16), whole processes, same images, same
// docker-registry on loopback:
//   airgap pack   (registry A → signed bundle, cache and parts fsync'd)
//     vs skopeo copy docker://A/img → oci:LAYOUT for each image, then tar -cf - LAYOUT | split -b && sync
//   airgap unpack (verify every part, then push into a fresh registry D)
//     vs skopeo copy oci:LAYOUT:img → docker://C/img for each image, into a fresh registry C
// goal: ours/skopeo ≤ 1.0 each (moonshot 0.7). Images: 4 × 2 random tar layers (GNU tar), BENCH_OCI_MIB
// in total (default 400; --quick 32), pushed into A with skopeo. Medians of BENCH_ROUNDS (default 3;
// --quick 1) alternating rounds; every destination is fresh. BENCH_CPU_PROF=DIR writes a --cpu-prof
// profile of each of our runs into DIR (what bounds them).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildImageLayout, cliBin, median, quick, report, runProcess, startDockerRegistry } from './lib.mjs';

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

/** @param {string} name @returns {Promise<string>} host:port */
async function startRegistry(name) {
  const r = await startDockerRegistry(join(work, 'reg-' + name));
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

    const C = await startRegistry(`c${round}`);
    const D = await startRegistry(`d${round}`);
    const configFile = join(work, `airgap-${round}.yaml`);
    writeFileSync(configFile, `targets:\n  bench:\n    type: registries\n    endpoints: { docker: "http://${D}/" }\n`);
    const skopeoUnpack = () => {
      let secs = 0;
      for (const r of refs) secs += runProcess('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${skLayout}:${r.split('/').pop()}`, `docker://${C}/bench/${r.split('/').pop()}`]).secs;
      t.skUnpack.push(secs);
    };
    const ourUnpack = () => {
      t.ourUnpack.push(runProcess(process.execPath, [...prof, cliBin, 'unpack', bundleDir, '--to', 'bench', '--pub', join(keys, 'bench.pub'), '--config', configFile, '--ledger', join(work, `ledger-${round}.jsonl`), '--json'], { cwd: work }).secs);
    };
    if (round % 2 === 0) { skopeoUnpack(); ourUnpack(); } else { ourUnpack(); skopeoUnpack(); }
    for (const d of [skLayout, skParts, cache, join(work, `cli-out-${round}`)]) rmSync(d, { recursive: true, force: true });
    await stopRegistries();
  }
  for (const [k, v] of Object.entries(t)) console.log(`  ${k.padEnd(10)} ${median(v).toFixed(2).padStart(7)} s  (${(mib / median(v)).toFixed(0)} MiB/s)   rounds: ${v.map((x) => x.toFixed(2)).join(' ')}`);
  const pack = median(t.ourPack) / median(t.skPack);
  report({ figure: `airgap pack / skopeo, ${IMAGES} images, ${mib} MiB`, value: pack, unit: '×', goal: '≤ 1.0 (moonshot 0.7)', met: pack <= 1.0, peer: 'skopeo copy docker:// → oci: per image, then tar | split && sync' });
  const unpack = median(t.ourUnpack) / median(t.skUnpack);
  report({ figure: `airgap unpack / skopeo, ${IMAGES} images, ${mib} MiB`, value: unpack, unit: '×', goal: '≤ 1.0 (moonshot 0.7)', met: unpack <= 1.0, peer: 'skopeo copy oci: → docker:// per image (no verify)' });
} finally {
  for (const p of registries) p.kill('SIGTERM');
  await Promise.allSettled(registries);
  rmSync(work, { recursive: true, force: true });
}
