/**
 * Issue 21 item 6 through the real CLI: apt suites accumulate in a dir: mirror. Bundle 1 reads three
 * suites, one of which gives no package this time (its only package is the same .deb another suite
 * gave); bundle 2 carries only one suite and is unpacked with a rotated mirror key. The real apt-get
 * must update every suite ever imported (signed by the current key) and install from each.
 */
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, startStaticServer, type StaticServer } from '../harness/index.js';
import { type AptWorld, type GpgKey, type Upstream, startAptWorld } from './upstream.js';
import { aptGet } from './apt-get.js';
import { ContentStore } from '@airgap/core';
import { aptDirPublisher, aptSource } from '@airgap/apt';
import { publishContext, sourceContext, unpack } from './pipeline.js';

let work: string;
let upstream: Upstream;
let server: StaticServer;
let upstreamKey: GpgKey;
let firstKey: GpgKey;
let rotatedKey: GpgKey;
let arch: string;
let keys: string;

const SUITES = ['stable', 'stable-security', 'stable-updates'];

let world: AptWorld;

beforeAll(async () => {
  // The same pool, indexed as two more suites (every package is in each).
  world = await startAptWorld('airgap-apt-suites-', ['upstream', 'first', 'rotated'], { extraSuites: ['stable-security', 'stable-updates'] });
  ({ dir: work, arch, upstream, server } = world);
  ({ upstream: upstreamKey, first: firstKey, rotated: rotatedKey } = world.keys as Record<'upstream' | 'first' | 'rotated', GpgKey>);
  keys = join(work, 'keys');
  await mkdir(keys, { recursive: true });
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
});

afterAll(async () => {
  await world?.close();
});

async function manifest(name: string, entries: Array<[suite: string, packages: string[]]>): Promise<string> {
  const p = join(work, `${name}.yaml`);
  const list = entries.map(([suite, packages]) => `  - url: ${server.url}
    suite: ${suite}
    components: [main]
    architectures: [${arch}]
    keyring: ${upstreamKey.keyring}
    packages: [${packages.join(', ')}]
    dependencies: false
`).join('');
  await writeFile(p, `apiVersion: airgap/v1\nkind: Bundle\nname: ${name}\napt:\n${list}`);
  return p;
}

async function packAndUnpack(name: string, entries: Array<[string, string[]]>, mirror: string, key: GpgKey): Promise<string> {
  const packed = await runAirgapJson<{ bundle: string }>(
    ['pack', await manifest(name, entries), '--out', join(work, `out-${name}`), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });
  expect(packed.exitCode, packed.stderr).toBe(0);
  const config = join(work, `${name}.airgap.yaml`);
  await writeFile(config, `trust: [${join(keys, 'outside.pub')}]\ntargets:\n  mirror:\n    type: dir\n    path: ${mirror}\n    apt:\n      gpgKey: ${key.secretKey}\n`);
  const u = await runAirgap(['unpack', packed.json.bundle, '--to', 'mirror', '--config', config, '--ledger', join(work, 'ledger.jsonl')], { cwd: work });
  expect(u.exitCode, u.stderr + u.stdout).toBe(0);
  return u.stderr + u.stdout;
}

/** apt-get update over every suite (signed-by the mirror's current public key), then a download-only install. */
async function clientInstalls(mirror: string, client: string, packages: string[]): Promise<string[]> {
  const served = await startStaticServer(mirror);
  try {
    await mkdir(client, { recursive: true });
    const list = join(client, 'sources.list');
    const keyring = join(mirror, 'apt/airgap-archive-keyring.gpg');
    await writeFile(list, SUITES.map((s) => `deb [signed-by=${keyring}] ${served.url}apt ${s} main\n`).join(''));
    const update = await aptGet(client, list, arch, ['update']);
    // The fingerprints in the message tell a wrong signer (gpg agent confusion) from a stale keyring.
    expect(update.exitCode, `${update.stderr}\nkeys: first ${firstKey.fingerprint}, rotated ${rotatedKey.fingerprint}, upstream ${upstreamKey.fingerprint}`).toBe(0);
    expect(update.stderr).not.toMatch(/^(W|E):/m);
    const install = await aptGet(client, list, arch, ['install', '--download-only', ...packages]);
    expect(install.exitCode, install.stderr).toBe(0);
    return (await readdir(join(client, 'cache/archives'))).filter((f) => f.endsWith('.deb')).sort();
  } finally {
    await served.close();
  }
}

describe('apt dir mirror: suites accumulate', () => {
  it('every suite ever imported keeps a signed Release after a bundle that carries only one suite, under a rotated key', async () => {
    const mirror = join(work, 'mirror');
    // stable-updates gives lonely too, the same .deb as stable-security: pack keeps one artifact, and the
    // suite still gets an empty, signed Release.
    await packAndUnpack('suites-1', [['stable', ['webapp-data']], ['stable-security', ['lonely']], ['stable-updates', ['lonely']]], mirror, firstKey);
    for (const s of SUITES) for (const f of ['Release', 'InRelease', 'Release.gpg']) expect(await readFile(join(mirror, 'apt/dists', s, f), 'utf8'), `${s}/${f}`).not.toBe('');
    expect(await readFile(join(mirror, `apt/dists/stable-updates/main/binary-${arch}/Packages`), 'utf8')).toBe('');
    expect(await readFile(join(mirror, 'apt/dists/stable-updates/Release'), 'utf8')).toContain(`main/binary-${arch}/Packages`);
    expect(await clientInstalls(mirror, join(work, 'client-1'), ['webapp-data', 'lonely'])).toEqual([`lonely_1_${arch}.deb`, 'webapp-data_1.0-1_all.deb']);

    // Bundle 2: one suite only, unpacked with another mirror key.
    const out = await packAndUnpack('suites-2', [['stable-security', ['httpd-fallback']]], mirror, rotatedKey);
    for (const s of SUITES) expect(out).toContain(`apt mirror ${join(mirror, 'apt/dists', s)} signed by ${rotatedKey.fingerprint}`);
    expect(await readFile(join(mirror, `apt/dists/stable/main/binary-${arch}/Packages`), 'utf8')).toContain('Package: webapp-data');
    expect(await clientInstalls(mirror, join(work, 'client-2'), ['webapp-data', 'lonely', 'httpd-fallback'])).toEqual(
      [`httpd-fallback_1_${arch}.deb`, `lonely_1_${arch}.deb`, 'webapp-data_1.0-1_all.deb'],
    );
  });

  it('url: system over three host suites: the suites the closure took nothing from still get a Release', async () => {
    const host = join(work, 'host');
    await mkdir(join(host, 'etc/apt/sources.list.d'), { recursive: true });
    await mkdir(join(host, 'usr/share/keyrings'), { recursive: true });
    await copyFile(upstreamKey.keyring, join(host, 'usr/share/keyrings/upstream.gpg'));
    await writeFile(join(host, 'etc/apt/sources.list.d/test.sources'),
      `Types: deb\nURIs: ${server.url}\nSuites: ${SUITES.join(' ')}\nComponents: main\nSigned-By: /usr/share/keyrings/upstream.gpg\n`);
    const cache = join(work, 'cache-system');
    const ctx = sourceContext(cache, work);
    const spec = { url: 'system', architectures: [arch], packages: ['lonely'], dependencies: false };
    const source = aptSource({ hostRoot: host });
    const resolved = await source.resolve(spec, ctx);
    for (const a of resolved) await source.fetch(a, ctx);
    // Every suite holds the same lonely_1: the closure takes it from one suite only.
    expect(new Set(resolved.map((a) => (a.meta as { suite: string }).suite)).size).toBe(1);
    expect((resolved[0].meta as { suites: Array<{ suite: string }> }).suites.map((d) => d.suite)).toEqual(SUITES);
    const mirror = join(work, 'mirror-system');
    await unpack(resolved, aptDirPublisher, publishContext(new ContentStore(cache), { type: 'dir' as const, name: `dir:${mirror}`, path: mirror, config: { type: 'dir' as const, path: mirror } }));
    for (const s of SUITES) {
      const release = await readFile(join(mirror, 'apt/dists', s, 'Release'), 'utf8');
      expect(release, s).toContain(`Suite: ${s}`);
      expect(release, s).toContain(`main/binary-${arch}/Packages`);
    }
  });
});
