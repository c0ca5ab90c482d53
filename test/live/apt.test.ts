import { withTransfer } from '../harness/index.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ContentStore, HttpClient, silentLogger } from '@airgap/core';
import { aptSource, readHostSources } from '@airgap/apt';
import { tempDir } from '../harness/index.js';

/**
 * `npm run test:live` only: reaches the archives of this host's apt sources. The closure airgap
 * computes for nginx must contain every package that apt-get itself would fetch to install nginx on an
 * empty system, computed with apt-get's own simulation (-s) under isolated state. Recommends are off
 * on both sides: airgap's closure is Depends + Pre-Depends (docs/manifest.md).
 */
describe('apt closure against the host apt sources (live)', () => {
  it('contains every package apt-get install --download-only nginx would fetch on an empty system', async () => {
    const sources = await readHostSources('/');
    expect(sources.length, 'this host has no apt sources (/etc/apt); test:live needs them').toBeGreaterThan(0);
    const dir = await tempDir('airgap-apt-live-');
    for (const d of ['state/lists/partial', 'cache/archives/partial']) await mkdir(join(dir, d), { recursive: true });
    await writeFile(join(dir, 'status'), '');
    const isolated = [
      '-o', `Dir::State=${join(dir, 'state')}`, '-o', `Dir::State::status=${join(dir, 'status')}`, '-o', `Dir::Cache=${join(dir, 'cache')}`,
      '-o', 'Debug::NoLocking=1', '-o', 'APT::Sandbox::User=root', '-o', 'APT::Install-Recommends=false',
    ];
    const update = await execa('apt-get', [...isolated, 'update'], { env: { LC_ALL: 'C' }, reject: false });
    expect(update.exitCode, update.stderr).toBe(0);
    const sim = await execa('apt-get', [...isolated, '-s', 'install', 'nginx'], { env: { LC_ALL: 'C' }, reject: false });
    expect(sim.exitCode, sim.stderr).toBe(0);
    // "Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64])"
    const aptWould = [...String(sim.stdout).matchAll(/^Inst (\S+) \((\S+) .*\[([^\]]+)\]\)/gm)].map((m) => `${m[1]}=${m[2]}`).sort();
    expect(aptWould.some((p) => p.startsWith('nginx='))).toBe(true);

    const ctx = withTransfer({
      store: new ContentStore(join(dir, 'cache-airgap')), http: new HttpClient({}), config: {}, log: silentLogger, progress: () => {},
      manifestDir: dir, concurrency: 2, dryRun: true,
    });
    const artifacts = await aptSource().resolve({ url: 'system', packages: ['nginx'] }, ctx);
    const ours = new Set(artifacts.map((a) => `${a.name}=${a.version}`));
    expect(aptWould.filter((p) => !ours.has(p))).toEqual([]);

    // And the nginx .deb itself comes in checked against its signed Packages SHA256.
    const nginx = artifacts.find((a) => a.name === 'nginx')!;
    await aptSource().fetch(nginx, { ...ctx, dryRun: false });
    expect(await ctx.store.has(nginx.digest)).toBe(true);
    await ctx.http.close();
  });
});
