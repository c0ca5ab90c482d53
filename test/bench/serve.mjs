#!/usr/bin/env node
// @ts-check
// `airgap serve` against the servers an operator would otherwise run (issue 13, docs/serve.md), whole
// processes on loopback, the same bytes:
//   images: skopeo copy docker://SERVE/<name> → oci: of every image  vs  the same from docker-registry
//           holding the same images (pushed there with skopeo from the same layout); goal ≤ 1.0×.
//           --preserve-digests on both copies: without it skopeo gzips the uncompressed layers on the
//           push into the registry and on the pull into oci:, so the two pulls would not move the same bytes.
//   files:  curl of a BENCH_SERVE_FILE_MIB file (default 1024; --quick 64) from serve vs from nginx
//           serving the same folder; goal ≤ 1.25×
//   16 parallel curl clients of a BENCH_SERVE_PAR_MIB file (default 256; --quick 16) from each, one
//           round: the time ratio, and serve's peak RSS (VmHWM of the serve process); goal < 200 MiB
// Images: 4 × 2 random tar layers, BENCH_SERVE_OCI_MIB in total (default 400; --quick 32). Medians of
// BENCH_ROUNDS (default 3; --quick 1) alternating rounds.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImageLayout, cliBin, freePort, median, quick, report, runProcess, startDockerRegistry } from './lib.mjs';

const ociMiB = Number(process.env.BENCH_SERVE_OCI_MIB ?? (quick ? 32 : 400));
const fileMiB = Number(process.env.BENCH_SERVE_FILE_MIB ?? (quick ? 64 : 1024));
const parMiB = Number(process.env.BENCH_SERVE_PAR_MIB ?? (quick ? 16 : 256));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
const CLIENTS = 16;
const IMAGES = 4;
const LAYERS = 2;
const layerMiB = Math.max(1, Math.ceil(ociMiB / (IMAGES * LAYERS)));
const REPO = (/** @type {number} */ i) => `bench.invalid/bench/img${i}`;
const work = mkdtempSync(join(tmpdir(), 'airgap-bench-serve-'));
/** @type {{ kill: (s?: NodeJS.Signals) => boolean | void }[]} */
const procs = [];

/** `airgap serve` on a free port; resolves with its URL and pid once it listens. */
async function startServe(/** @type {string} */ mirror) {
  const p = spawn(process.execPath, [cliBin, 'serve', mirror, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  procs.push(p);
  let err = '';
  const url = await new Promise((resolve, reject) => {
    p.stderr.on('data', (d) => {
      err += d.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    p.on('exit', (code) => reject(new Error(`airgap serve exited ${code}: ${err}`)));
  });
  return { url: /** @type {string} */ (url), pid: /** @type {number} */ (p.pid) };
}

/** nginx in the foreground with a config of its own, serving `root` on a free port. */
async function startNginx(/** @type {string} */ root) {
  const dir = join(work, 'nginx');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), `user root;\nworker_processes 2;\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n  sendfile on;\n  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;\n  server { listen 127.0.0.1:${port}; root ${root}; }\n}\n`);
  const p = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
  procs.push(p);
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return `http://127.0.0.1:${port}/`;
    } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('nginx did not start');
}

/** Peak resident set (VmHWM) of a running process, MiB. */
function peakRssMiB(/** @type {number} */ pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function writeRandomFile(/** @type {string} */ path, /** @type {number} */ mib) {
  const out = createWriteStream(path);
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib; i++) {
    randomFillSync(chunk);
    if (!out.write(Buffer.from(chunk))) await new Promise((r) => out.once('drain', () => r(undefined)));
  }
  await new Promise((r) => out.end(() => r(undefined)));
}

const curl = (/** @type {string} */ url) => runProcess('curl', ['-sSf', '-o', '/dev/null', url]).secs;
const curlParallel = (/** @type {string} */ url) => runProcess('sh', ['-c', `for i in $(seq ${CLIENTS}); do curl -sSf -o /dev/null "$1" & done; wait`, 'sh', url]).secs;

try {
  const mib = IMAGES * LAYERS * layerMiB;
  console.log(`serve bench: ${IMAGES} images, ${mib} MiB vs docker-registry; ${fileMiB} MiB file vs nginx; ${CLIENTS} parallel clients × ${parMiB} MiB; ${ROUNDS} round(s)`);
  const mirror = join(work, 'mirror');
  mkdirSync(join(mirror, 'files'), { recursive: true });
  // A dir mirror's oci/ is an OCI image layout whose ref names are full references (docs/oci.md).
  renameSync(await buildImageLayout(work, { images: IMAGES, layers: LAYERS, layerMiB, refName: (i) => `${REPO(i)}:1` }), join(mirror, 'oci'));
  await writeRandomFile(join(mirror, 'files', 'big.bin'), fileMiB);
  await writeRandomFile(join(mirror, 'files', 'par.bin'), parMiB);

  const reg = await startDockerRegistry(join(work, 'registry'));
  procs.push(reg.proc);
  for (let i = 0; i < IMAGES; i++) runProcess('skopeo', ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${join(mirror, 'oci')}:${REPO(i)}:1`, `docker://${reg.host}/${REPO(i)}:1`]);
  const serve = await startServe(mirror);
  const nginx = await startNginx(mirror);
  const serveHost = new URL(serve.url).host;

  /** @type {Record<'regOci' | 'serveOci' | 'nginxFile' | 'serveFile' | 'nginxPar' | 'servePar', number[]>} */
  const t = { regOci: [], serveOci: [], nginxFile: [], serveFile: [], nginxPar: [], servePar: [] };
  const pull = (/** @type {string} */ host, /** @type {string} */ dest) => {
    let secs = 0;
    for (let i = 0; i < IMAGES; i++) secs += runProcess('skopeo', ['copy', '--quiet', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/${REPO(i)}:1`, `oci:${dest}:img${i}`]).secs;
    rmSync(dest, { recursive: true, force: true });
    return secs;
  };
  for (let round = 0; round < ROUNDS; round++) {
    const pairs = /** @type {[() => void, () => void][]} */ ([
      [() => t.regOci.push(pull(reg.host, join(work, 'pulled-reg'))), () => t.serveOci.push(pull(serveHost, join(work, 'pulled-serve')))],
      [() => t.nginxFile.push(curl(`${nginx}files/big.bin`)), () => t.serveFile.push(curl(`${serve.url}files/big.bin`))],
    ]);
    // 16 × the file through each server is heavy on a shared machine: one round of it.
    if (round === 0) pairs.push([() => t.nginxPar.push(curlParallel(`${nginx}files/par.bin`)), () => t.servePar.push(curlParallel(`${serve.url}files/par.bin`))]);
    for (const [peer, ours] of pairs) {
      if (round % 2 === 0) { peer(); ours(); } else { ours(); peer(); }
    }
  }
  for (const [k, v] of Object.entries(t)) console.log(`  ${k.padEnd(10)} ${median(v).toFixed(2).padStart(7)} s   rounds: ${v.map((x) => x.toFixed(2)).join(' ')}`);
  const oci = median(t.serveOci) / median(t.regOci);
  report({ figure: `skopeo copy of ${IMAGES} images (${mib} MiB) from serve / from docker-registry`, value: oci, unit: '×', goal: '≤ 1.0', met: oci <= 1.0, peer: 'docker-registry serving the same images' });
  const file = median(t.serveFile) / median(t.nginxFile);
  report({ figure: `curl of a ${fileMiB} MiB file from serve / from nginx`, value: file, unit: '×', goal: '≤ 1.25', met: file <= 1.25, peer: 'nginx (sendfile) over the same folder' });
  const par = median(t.servePar) / median(t.nginxPar);
  report({ figure: `${CLIENTS} parallel curl of a ${parMiB} MiB file, serve / nginx`, value: par, unit: '×', goal: '≤ 1.25', met: par <= 1.25, peer: 'nginx, same clients' });
  const rss = peakRssMiB(serve.pid);
  report({ figure: `serve peak RSS, after ${CLIENTS} parallel clients`, value: rss, unit: 'MiB', goal: '< 200 MiB', met: rss < 200, peer: 'absolute bound' });
} finally {
  for (const p of procs) p.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  rmSync(work, { recursive: true, force: true });
}
