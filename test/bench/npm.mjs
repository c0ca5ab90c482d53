#!/usr/bin/env node
// @ts-check
// docs/design.md speed: npm closure download at least as fast as `npm install` with an empty cache.
// A local verdaccio (loopback, no uplinks) holds a real tree: the closure of BENCH_NPM_ROOTS (default
// jest@29, ~300 packages) resolved from the registry this machine's npm is configured with, published
// into it by airgap's own npm publisher (through the registries target driver, as unpack opens it).
// With --quick, the tree is a few packages made here with `npm pack` and published with `npm publish`
// (hermetic). The timed runs use only the local verdaccio: airgap's resolve + download into an empty
// store (the pack pipeline's default concurrency, and 8), against
// `npm install --ignore-scripts --no-audit --no-fund` with an empty cache. Goal: npm/airgap ≥ 1.0.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ContentStore, HttpClient, Transfers, silentLogger } from '@airgap/core';
import { npm as npmEcosystem } from '@airgap/npm';
import { registriesDriver } from '@airgap/nexus';
import { freePort, quick, report, root } from './lib.mjs';

const require = createRequire(join(root, 'packages', 'npm', 'package.json'));
const roots = quick ? ['bench-root@1.0.0'] : (process.env.BENCH_NPM_ROOTS ?? 'jest@29').split(/\s+/).filter(Boolean);
const work = mkdtempSync(join(tmpdir(), 'airgap-bench-npm-'));
/** The CLI's default --concurrency (src/commands/pack.ts). */
const PACK_CONCURRENCY = 4;

function cleanEnv() {
  /** @type {NodeJS.ProcessEnv} */
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, NO_UPDATE_NOTIFIER: '1' };
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
  const { token } = /** @type {{ token: string }} */ (await res.json());
  return { url, child, user: 'bench', password: 'bench-password', token };
}

/** @param {string} storeDir @param {number} concurrency @returns {import('@airgap/core').SourceContext} */
function sourceCtx(storeDir, concurrency) {
  const store = new ContentStore(storeDir);
  const http = new HttpClient({ retries: 2 });
  return {
    store, http, config: {}, log: silentLogger,
    progress: () => {}, manifestDir: work, concurrency, dryRun: false,
    transfer: new Transfers({ store, http, concurrency, progress: () => {}, log: silentLogger }),
  };
}

/** --quick: bench-root depends on five leaves, published with the real npm client. @param {{ url: string, token: string }} reg */
function publishQuickTree(reg) {
  const npmrc = join(work, 'publish-npmrc');
  writeFileSync(npmrc, `registry=${reg.url}\n//${reg.url.replace(/^http:\/\//, '')}:_authToken=${reg.token}\n`);
  const leaves = ['a', 'b', 'c', 'd', 'e'].map((x) => `bench-leaf-${x}`);
  const pkgs = [...leaves.map((name) => ({ name, deps: {} })), { name: 'bench-root', deps: Object.fromEntries(leaves.map((l) => [l, '^1.0.0'])) }];
  for (const p of pkgs) {
    const dir = join(work, 'src', p.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: p.name, version: '1.0.0', license: 'MIT', main: 'index.js', dependencies: p.deps }));
    writeFileSync(join(dir, 'index.js'), `module.exports = ${JSON.stringify(p.name)};\n`);
    execFileSync('npm', ['publish', dir, '--registry', reg.url, '--userconfig', npmrc, '--cache', join(work, 'npm-cache-publish'), '--loglevel', 'error'], { cwd: dir, env: cleanEnv(), stdio: 'ignore' });
  }
  return pkgs.length;
}

const reg = await startVerdaccio();
try {
  if (quick) {
    console.log(`published ${publishQuickTree(reg)} generated packages into a local verdaccio`);
  } else {
    // Seed: the real tree, once, from the configured registry (not timed), published by airgap's own
    // publisher through the registries target driver (the path unpack takes).
    const seedStore = join(work, 'seed-store');
    const seeded = await npmEcosystem.source.resolve({ registry: 'default', packages: roots, os: [process.platform], cpu: [process.arch] }, sourceCtx(seedStore, 8));
    const store = new ContentStore(seedStore);
    const env = { ...process.env, B_USER: reg.user, B_PASS: reg.password };
    /** @type {import('@airgap/core').ResolvedTarget} */
    const target = { type: 'registries', name: 'bench', config: { type: 'registries', endpoints: { npm: reg.url }, usernameEnv: 'B_USER', passwordEnv: 'B_PASS' } };
    const http = new HttpClient({});
    const opened = await registriesDriver.open(target, { http, config: {}, log: silentLogger, formats: new Set(['npm']), dryRun: false, env });
    /** @type {import('@airgap/core').PublishContext} */
    const pctx = {
      target, blobs: { open: (d) => store.open(d.digest) }, http, config: {}, log: silentLogger, progress: () => {},
      bundle: { name: 'bench', created: new Date().toISOString() }, dryRun: false, services: opened.services,
      concurrency: 8, transfer: new Transfers({ http, concurrency: 8, progress: () => {}, log: silentLogger }),
    };
    const publisher = npmEcosystem.publish.endpoint;
    if (!publisher) throw new Error('the npm ecosystem has no endpoint publisher');
    for (const a of seeded) if ((await publisher.exists(a, pctx)) === 'absent') await publisher.publish(a, pctx);
    await opened.close?.();
    const bytes = seeded.reduce((n, a) => n + a.blobs[0].size, 0);
    console.log(`seeded local verdaccio with ${seeded.length} packages (${(bytes / 1024 / 1024).toFixed(1)} MiB of tarballs): ${roots.join(' ')}`);
  }

  // Timed: npm install from the local verdaccio with an empty cache.
  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'bench', version: '1.0.0', private: true }));
  writeFileSync(join(work, 'npmrc'), `registry=${reg.url}\n`);
  let t = process.hrtime.bigint();
  execFileSync('npm', ['install', ...roots, '--ignore-scripts', '--no-audit', '--no-fund', '--registry', reg.url, '--cache', join(work, 'npm-cache'), '--userconfig', join(work, 'npmrc'), '--loglevel', 'error'], { cwd: project, env: cleanEnv(), stdio: 'ignore' });
  const npmSecs = Number(process.hrtime.bigint() - t) / 1e9;

  // Timed: airgap closure resolution + download into an empty store.
  const spec = { registry: reg.url, packages: roots, os: [process.platform], cpu: [process.arch] };
  for (const concurrency of [PACK_CONCURRENCY, 8]) {
    const ctx = sourceCtx(join(work, `store-${concurrency}`), concurrency);
    t = process.hrtime.bigint();
    const got = await npmEcosystem.source.resolve(spec, ctx);
    for (const a of got) await npmEcosystem.source.fetch(a, ctx);
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    await ctx.http.close();
    console.log(`  npm install ${npmSecs.toFixed(2)} s; airgap resolve+download (concurrency ${concurrency}) ${secs.toFixed(2)} s, ${got.length} packages`);
    report({ figure: `npm closure download, npm install / airgap (concurrency ${concurrency}), ${got.length} packages`, value: npmSecs / secs, unit: '×', goal: '≥ 1.0', met: npmSecs >= secs, peer: 'npm install --ignore-scripts, empty cache, same verdaccio' });
  }
} finally {
  reg.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
