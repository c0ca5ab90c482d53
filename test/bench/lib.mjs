// @ts-check
// Shared pieces of the benchmarks (see README.md in this folder). Type-checked by `npm run build`
// (test/bench/tsconfig.json), so a bench that calls something the code no longer has fails the build.
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { appendFileSync, createReadStream, createWriteStream, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { execa } from 'execa';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The airgap CLI as an operator runs it. */
export const cliBin = join(root, 'bin', 'run.js');

/** `npm run bench -- --quick` (BENCH_QUICK=1): small data, one round; proves the bench runs, the figures are not read. */
export const quick = process.env.BENCH_QUICK === '1';

/**
 * @typedef {object} Row
 * @property {string} figure   what is measured, e.g. "verify rate, airgap verify / one read+SHA-256 stream"
 * @property {number} value    the figure (a ratio, seconds or MiB)
 * @property {string} unit     "×", "s", "MiB"
 * @property {string} goal     e.g. "≥ 1.0", "≤ 0.15 s", "< 256 MiB"
 * @property {boolean} met     whether value meets the goal (printed, never an exit code)
 * @property {string} peer     what the figure is measured against, run side by side in the same script
 */

/**
 * Record one row of the summary table `npm run bench` prints at the end. Prints it as well, so a bench
 * run on its own (`node test/bench/X.mjs`) shows its figures.
 * @param {Row} row
 */
export function report(row) {
  console.log(`  => ${row.figure}: ${fmt(row.value, row.unit)} (goal ${row.goal}: ${row.met ? 'met' : 'NOT met'}; peer: ${row.peer})`);
  if (process.env.BENCH_RESULTS) appendFileSync(process.env.BENCH_RESULTS, JSON.stringify({ bench: process.env.BENCH_NAME ?? '', ...row }) + '\n');
}

/** @param {number} v @param {string} unit */
export function fmt(v, unit) {
  if (!Number.isFinite(v)) return 'n/a';
  return unit === '×' ? `${v.toFixed(2)}×` : unit === 's' ? `${v.toFixed(3)} s` : `${v.toFixed(0)} ${unit}`;
}

/** @param {number[]} xs */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A free loopback port (servers in benches listen on 127.0.0.1 only). @returns {Promise<number>} */
export async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', () => r(undefined)));
  const addr = s.address();
  await new Promise((r) => s.close(() => r(undefined)));
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

const hasTimeV = spawnSync('/usr/bin/time', ['-v', 'true'], { stdio: 'ignore' }).status === 0;

/**
 * Run one whole process (the CLI, or a peer tool) and return its wall time and peak RSS. Throws when it
 * fails: a bench fails on an error, never on a timing.
 * @param {string} cmd @param {string[]} args @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [opts]
 * @returns {{ secs: number, rssMiB: number, stdout: string, stderr: string, startedAt: number }}
 */
export function runProcess(cmd, args, opts = {}) {
  const [c, a] = hasTimeV ? ['/usr/bin/time', ['-v', cmd, ...args]] : [cmd, args];
  const startedAt = Date.now();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c, a, { encoding: 'utf8', maxBuffer: 64 << 20, cwd: opts.cwd, env: opts.env ?? process.env });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr ?? '').slice(-4000)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  return { secs, rssMiB: m ? Number(m[1]) / 1024 : NaN, stdout: r.stdout, stderr: r.stderr ?? '', startedAt };
}

/** @param {string[]} args @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [opts] */
export function runCli(args, opts) {
  return runProcess(process.execPath, [cliBin, ...args], opts);
}

/** @param {string} path @returns {Promise<string>} */
function sha256File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('end', () => resolve('sha256:' + h.digest('hex'))).on('error', reject);
  });
}

/** @param {string} layout @param {Buffer} bytes */
function writeBlob(layout, bytes) {
  const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

/**
 * An OCI layout at `<work>/layout` with `images` images of `layers` random tar layers (GNU tar) of
 * `layerMiB` each; image i is `ref.name` = `refName(i)` (default `img<i>`).
 * @param {string} work
 * @param {{ images: number, layers: number, layerMiB: number, refName?: (i: number) => string }} o
 */
export async function buildImageLayout(work, o) {
  const layout = join(work, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests = [];
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < o.images; i++) {
    const layers = [];
    for (let l = 0; l < o.layers; l++) {
      const src = join(work, `src-${i}-${l}`);
      mkdirSync(src, { recursive: true });
      const out = createWriteStream(join(src, 'data.bin'));
      for (let m = 0; m < o.layerMiB; m++) {
        randomFillSync(chunk);
        if (!out.write(Buffer.from(chunk))) await new Promise((r) => out.once('drain', () => r(undefined)));
      }
      await new Promise((r) => out.end(() => r(undefined)));
      const tarFile = join(work, `layer-${i}-${l}.tar`);
      const tar = spawnSync('tar', ['-cf', tarFile, '-C', src, 'data.bin']);
      if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
      rmSync(src, { recursive: true });
      const digest = await sha256File(tarFile);
      const size = statSync(tarFile).size;
      renameSync(tarFile, join(layout, 'blobs', 'sha256', digest.slice(7)));
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size });
    }
    const config = writeBlob(layout, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } })));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers }));
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...writeBlob(layout, manifest), annotations: { 'org.opencontainers.image.ref.name': o.refName ? o.refName(i) : `img${i}` } });
  }
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  return layout;
}

/**
 * Docker's registry (`docker-registry` from Debian) on a free loopback port, storage under `dir`. With
 * `accessLog`, its access log (one line per request) goes to `<dir>/access.log` (see `requestCounts`).
 * @param {string} dir
 * @param {{ accessLog?: boolean }} [o]
 * @returns {Promise<{ host: string, proc: import('execa').ResultPromise }>}
 */
export async function startDockerRegistry(dir, o = {}) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog: { level: error, accesslog: { disabled: ${!o.accessLog} } }\nstorage: { filesystem: { rootdirectory: ${join(dir, 'storage')} } }\nhttp: { addr: 127.0.0.1:${port} }\n`);
  // The log goes straight to the file (the shell's redirect, then exec), not through a pipe: the benches
  // block their event loop in spawnSync while the registry serves, so no pipe would be drained.
  const proc = o.accessLog
    ? execa('sh', ['-c', 'exec docker-registry serve "$1" > "$2" 2>/dev/null', 'sh', join(dir, 'config.yml'), join(dir, 'access.log')], { reject: false, stdio: 'ignore' })
    : execa('docker-registry', ['serve', join(dir, 'config.yml')], { reject: false, stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).status === 200) return { host: `127.0.0.1:${port}`, proc };
    } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGTERM');
  throw new Error('docker-registry did not start');
}

/**
 * The requests a registry started with `accessLog` answered, counted by method and kind of path:
 * `{ 'HEAD blob': 12, 'POST upload': 12, 'PUT upload': 12, 'PUT manifest': 4, ... }` (the readiness
 * probe of startDockerRegistry is one `GET /v2/`).
 * @param {string} dir the registry's dir
 * @returns {Record<string, number>}
 */
export function requestCounts(dir) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const m of readFileSync(join(dir, 'access.log'), 'utf8').matchAll(/"([A-Z]+) (\/v2\/[^ ?]*)[^"]*" (\d{3})/g)) {
    const path = m[2];
    const kind = path === '/v2/' ? 'probe' : path.includes('/blobs/uploads/') ? 'upload' : path.includes('/blobs/') ? 'blob' : path.includes('/manifests/') ? 'manifest' : 'other';
    const key = `${m[1]} ${kind}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/**
 * The phases of a CLI run without a terminal, from its timestamped stderr lines (`<ISO time> Verifying the
 * bundle …` and `… : done in`): start-up (spawn to the first phase), each phase, and the rest (the last
 * phase's end to exit). Seconds.
 * @param {{ stderr: string, startedAt: number, secs: number }} run a runProcess result
 * @returns {{ startup: number, phases: { name: string, secs: number }[], rest: number }}
 */
export function phaseTimes(run) {
  /** @type {{ name: string, secs: number }[]} */
  const phases = [];
  /** @type {Map<string, number>} */
  const open = new Map();
  let first = NaN;
  let last = NaN;
  for (const m of run.stderr.matchAll(/^(\d{4}-\d\d-\d\dT[\d:.]+Z) (.+?)(?: …|: done in .*)$/gm)) {
    const at = Date.parse(m[1]);
    if (Number.isNaN(first)) first = at;
    if (m[0].endsWith(' …')) open.set(m[2], at);
    else if (open.has(m[2])) {
      phases.push({ name: m[2], secs: (at - /** @type {number} */ (open.get(m[2]))) / 1000 });
      open.delete(m[2]);
      last = at;
    }
  }
  return { startup: (first - run.startedAt) / 1000, phases, rest: (run.startedAt + run.secs * 1000 - last) / 1000 };
}
