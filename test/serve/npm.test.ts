/**
 * `airgap serve` as an npm registry (issue 13): the fixture closure of test/npm packed from a real
 * verdaccio and published into a dir: mirror without npm.baseUrl (packuments carry the placeholder);
 * verdaccio stopped; the real npm client, with an empty cache and only the npmrc client-config wrote,
 * installs the same name@version set it installed from the upstream.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact } from '@airgap/core';
import { PLACEHOLDER_BASE, npmDirPublisher } from '@airgap/npm';
import { runAirgapJson, tempDir } from '../harness/index.js';
import { FIXTURES, ROOTS, publishFixtures } from '../npm/fixtures.js';
import { artifactSet, dirContext, npmLsSet, packLib, sourceContext, unpackLib } from '../npm/lib-helpers.js';
import { type Verdaccio, npmClient, npmEnv, startVerdaccio } from '../npm/verdaccio.js';
import { type ServeProcess, startServe } from './serve-process.js';

let work: string;
let upstream: Verdaccio;
let upstreamSet: string[];
let artifacts: Artifact[];
let mirror: string;
let serve: ServeProcess;

beforeAll(async () => {
  work = await tempDir('airgap-serve-npm-');
  upstream = await startVerdaccio();
  await publishFixtures(upstream, work, FIXTURES);
  const probe = join(work, 'install-upstream');
  await mkdir(probe, { recursive: true });
  await writeFile(join(probe, 'package.json'), JSON.stringify({ name: 'probe-upstream', version: '1.0.0', private: true }));
  await npmClient(['install', ...ROOTS, '--ignore-scripts'], { cwd: probe, userconfig: upstream.userconfig, cache: join(work, 'cache-upstream'), registry: upstream.url });
  upstreamSet = await npmLsSet(probe);
  artifacts = await packLib({ registry: upstream.url, packages: ROOTS, os: [process.platform] }, sourceContext(join(work, 'store')));
  mirror = join(work, 'mirror');
  const outcomes = await unpackLib(artifacts, npmDirPublisher, dirContext(join(work, 'store'), mirror));
  expect(outcomes.filter((o) => o.action !== 'pushed')).toEqual([]);
  await upstream.close();
  serve = await startServe(mirror);
});

afterAll(async () => {
  await serve?.stop();
  await upstream?.close().catch(() => undefined);
});

describe('npm through airgap serve', () => {
  it('the mirror was written with the placeholder; serve answers with tarball URLs of its own', async () => {
    expect(await readFile(join(mirror, 'npm', 'fx-app'), 'utf8')).toContain(PLACEHOLDER_BASE);
    const doc = (await (await fetch(`${serve.url}npm/fx-app`)).json()) as { versions: Record<string, { dist: { tarball: string } }> };
    for (const v of Object.values(doc.versions)) expect(v.dist.tarball.startsWith(`${serve.url}npm/-/fx-app/`)).toBe(true);
  });

  it('scoped names in every encoding npm sends give the same packument; tarballs in both URL forms', async () => {
    const forms = ['@fx/scoped', '@fx%2fscoped', '@fx%2Fscoped'];
    const bodies = await Promise.all(forms.map(async (f) => {
      const r = await fetch(`${serve.url}npm/${f}`);
      expect(r.status, f).toBe(200);
      return r.text();
    }));
    expect(new Set(bodies).size).toBe(1);
    const doc = JSON.parse(bodies[0]) as { name: string; versions: Record<string, { dist: { tarball: string } }> };
    expect(doc.name).toBe('@fx/scoped');
    const url = doc.versions['1.0.0'].dist.tarball;
    expect(url).toBe(`${serve.url}npm/-/@fx/scoped/scoped-1.0.0.tgz`);
    const a = Buffer.from(await (await fetch(url)).arrayBuffer());
    const b = Buffer.from(await (await fetch(`${serve.url}npm/@fx/scoped/-/scoped-1.0.0.tgz`)).arrayBuffer());
    expect(a.length).toBeGreaterThan(0);
    expect(a.equals(b)).toBe(true);
    expect((await fetch(`${serve.url}npm/no-such-package`)).status).toBe(404);
  });

  it('--base-url decides the tarball URLs when given', async () => {
    const other = await startServe(mirror, ['--base-url', 'https://mirror.corp.internal:8443/']);
    try {
      const doc = (await (await fetch(`${other.url}npm/fx-app`)).json()) as { versions: Record<string, { dist: { tarball: string } }> };
      for (const v of Object.values(doc.versions)) expect(v.dist.tarball.startsWith('https://mirror.corp.internal:8443/npm/-/fx-app/')).toBe(true);
    } finally {
      await other.stop();
    }
  });

  it('npm installs the same closure from serve alone, empty cache, configured only by the generated npmrc', async () => {
    const clients = join(work, 'clients');
    const c = await runAirgapJson<{ files: { path: string }[] }>(['client-config', '--mirror', mirror, '--server', serve.url, '--out', clients]);
    expect(c.exitCode, c.stderr).toBe(0);
    const npmrc = join(clients, 'npm', 'npmrc');
    expect(await readFile(npmrc, 'utf8')).toContain(`registry=${serve.url}npm/`);
    const dir = join(work, 'install-serve');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'probe-serve', version: '1.0.0', private: true }));
    const r = await execa('npm', ['install', ...ROOTS, '--ignore-scripts', '--userconfig', npmrc, '--cache', join(work, 'cache-serve'), '--loglevel', 'error'], {
      cwd: dir, env: npmEnv(), extendEnv: false, stdin: 'ignore', reject: false,
    });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(await npmLsSet(dir)).toEqual(upstreamSet);
    expect(artifactSet(artifacts)).toEqual(upstreamSet);
    expect(serve.lines().some((l) => l.includes('"GET /npm/-/fx-app/'))).toBe(true);
  });
});
