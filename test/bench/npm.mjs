#!/usr/bin/env node
// SPEC §9 speed: npm closure download at least as fast as `npm install` with an empty cache.
// A local verdaccio (loopback, no uplinks) is seeded once per run with a real tree: the closure of
// BENCH_NPM_ROOTS (default jest@29, ~300 packages) is resolved from the registry this machine's npm is
// configured with and published into it by airgap's own npm publisher. The timed runs then use only the
// local verdaccio: airgap's resolve + download into an empty store, against
// `npm install --ignore-scripts --no-audit --no-fund` with an empty cache. Prints the ratio.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'packages', 'npm', 'package.json'));
const core = await import(join(root, 'packages', 'core', 'dist', 'index.js'));
const airgapNpm = await import(join(root, 'packages', 'npm', 'dist', 'index.js'));
const roots = (process.env.BENCH_NPM_ROOTS ?? 'jest@29').split(/\s+/).filter(Boolean);
const work = mkdtempSync(join(tmpdir(), 'airgap-bench-npm-'));
const quiet = { info() {}, debug() {}, warn() {} };

function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, NO_UPDATE_NOTIFIER: '1' };
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function startVerdaccio() {
  const dir = join(work, 'verdaccio');
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'config.yaml');
  writeFileSync(config, [
    `storage: ${join(dir, 'storage')}`,
    'auth:', '  htpasswd:', `    file: ${join(dir, 'htpasswd')}`, '    max_users: 10',
    'uplinks: {}', 'packages:',
    "  '@*/*': { access: $all, publish: $authenticated }",
    "  '**': { access: $all, publish: $authenticated }",
    'max_body_size: 500mb', 'log: { type: stdout, format: json, level: error }', 'web: { enable: false }', '',
  ].join('\n'));
  const port = await freePort();
  const bin = join(dirname(require.resolve('verdaccio/package.json')), 'bin', 'verdaccio');
  const child = spawn(process.execPath, [bin, '--config', config, '--listen', `127.0.0.1:${port}`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(url + '-/ping')).ok) break;
    } catch { /* starting */ }
    if (i > 300) throw new Error('verdaccio did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  const res = await fetch(url + '-/user/org.couchdb.user:bench', {
    method: 'PUT', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', password: 'bench-password', type: 'user', roles: [] }),
  });
  if (!res.ok) throw new Error(`verdaccio adduser: HTTP ${res.status}`);
  return { url, child, user: 'bench', password: 'bench-password' };
}

function sourceCtx(storeDir, concurrency) {
  const store = new core.ContentStore(storeDir);
  const http = new core.HttpClient({ retries: 2 });
  return {
    store, http, config: {}, log: quiet,
    progress: () => {}, manifestDir: work, concurrency, dryRun: false,
    transfer: new core.Transfers({ store, http, concurrency, progress: () => {}, log: quiet }),
  };
}

const reg = await startVerdaccio();
try {
  // Seed: the real tree, once, from the configured registry (not timed).
  const seedStore = join(work, 'seed-store');
  const spec = { registry: 'default', packages: roots, os: [process.platform], cpu: [process.arch] };
  const seeded = await airgapNpm.npmSource.resolve(spec, sourceCtx(seedStore, 8));
  const store = new core.ContentStore(seedStore);
  const targetConfig = { type: 'registries', endpoints: { npm: reg.url }, usernameEnv: 'B_USER', passwordEnv: 'B_PASS' };
  const pctx = {
    target: { type: 'registries', name: 'bench', config: targetConfig }, blobs: { open: (d) => store.open(d.digest) },
    http: new core.HttpClient({}), config: {}, log: quiet, progress: () => {}, bundle: { name: 'bench', created: new Date().toISOString() },
    concurrency: 8, transfer: new core.Transfers({ http: new core.HttpClient({}), concurrency: 8, progress: () => {}, log: quiet }),
    dryRun: false, services: { endpoints: core.registriesEndpoints('bench', targetConfig, { B_USER: reg.user, B_PASS: reg.password }) },
  };
  for (const a of seeded) if ((await airgapNpm.npmEndpointPublisher.exists(a, pctx)) === 'absent') await airgapNpm.npmEndpointPublisher.publish(a, pctx);
  const bytes = seeded.reduce((n, a) => n + a.blobs[0].size, 0);
  console.log(`seeded local verdaccio with ${seeded.length} packages (${(bytes / 1024 / 1024).toFixed(1)} MiB of tarballs): ${roots.join(' ')}`);

  // Timed: npm install from the local verdaccio with an empty cache.
  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'bench', version: '1.0.0', private: true }));
  writeFileSync(join(work, 'npmrc'), `registry=${reg.url}\n`);
  let t = process.hrtime.bigint();
  execFileSync('npm', ['install', ...roots, '--ignore-scripts', '--no-audit', '--no-fund', '--registry', reg.url, '--cache', join(work, 'npm-cache'), '--userconfig', join(work, 'npmrc'), '--loglevel', 'error'], { cwd: project, env: cleanEnv(), stdio: 'ignore' });
  const npmMs = Number(process.hrtime.bigint() - t) / 1e6;

  // Timed: airgap closure resolution + download into an empty store, at the CLI default and at 8.
  const results = [];
  for (const concurrency of [4, 8]) {
    t = process.hrtime.bigint();
    const got = await airgapNpm.npmSource.resolve({ registry: reg.url, packages: roots, os: [process.platform], cpu: [process.arch] }, sourceCtx(join(work, `store-${concurrency}`), concurrency));
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    results.push({ concurrency, ms, count: got.length });
  }
  console.log(`npm install (empty cache):          ${(npmMs / 1000).toFixed(2)} s`);
  for (const r of results) {
    console.log(`airgap resolve+download (conc ${r.concurrency}):   ${(r.ms / 1000).toFixed(2)} s, ${r.count} packages; ratio npm/airgap = ${(npmMs / r.ms).toFixed(2)}x ${npmMs >= r.ms ? '(airgap faster)' : '(airgap slower)'}`);
  }
} finally {
  reg.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
