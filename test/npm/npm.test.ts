/**
 * Issue 6 "must show", at library level: a real verdaccio upstream seeded by the real npm client, the
 * npm ecosystem's source and publish halves, a second (empty) verdaccio and a dir mirror behind a static
 * server as targets, and the real npm client installing from each to compare with what it installs
 * from the upstream (`npm ls --all --json`).
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Artifact, IntegrityError } from '@airgap/core';
import { npm } from '@airgap/npm';
import { runAirgap, runAirgapJson, startStaticServer, tempDir, type StaticServer } from '../harness/index.js';
import { deprecate, FIXTURES, publishFixtures, ROOTS } from './fixtures.js';
import { artifactSet, capturingLogger, dirContext, npmLsSet, packLib, registriesContext, sourceContext, unpackLib } from './lib-helpers.js';
import { npmClient, startVerdaccio, type Verdaccio } from './verdaccio.js';
import { ContentStore } from '@airgap/core';
import { startNexusDouble, type NexusDouble } from '../nexus-double/index.js';
import { openNexus, publishContext } from '../nexus/support.js';

const HOST_OS = process.platform;

let work: string;
let upstream: Verdaccio;
let inside: Verdaccio;
let tarballs: Map<string, string>;
let upstreamSet: string[];
let artifacts: Artifact[];
const packWarnings: string[] = [];

async function installFrom(registry: string, userconfig: string, label: string): Promise<string[]> {
  const dir = join(work, `install-${label}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `probe-${label}`, version: '1.0.0', private: true }));
  await npmClient(['install', ...ROOTS, '--ignore-scripts'], { cwd: dir, userconfig, cache: join(work, `cache-${label}`), registry });
  return npmLsSet(dir);
}

beforeAll(async () => {
  work = await tempDir('airgap-npm-');
  [upstream, inside] = await Promise.all([startVerdaccio(), startVerdaccio()]);
  tarballs = await publishFixtures(upstream, work, FIXTURES);
  await deprecate(upstream, work, 'fx-util@1.2.0', 'use fx-util 1.1.0');
  upstreamSet = await installFrom(upstream.url, upstream.userconfig, 'upstream');
  const log = capturingLogger();
  artifacts = await packLib({ registry: upstream.url, packages: ROOTS, os: [HOST_OS] }, sourceContext(join(work, 'store'), log));
  packWarnings.push(...log.warnings);
});

afterAll(async () => {
  await Promise.all([upstream?.close(), inside?.close()]);
});

describe('npm source: the closure as npm installs it', () => {
  it('resolves exactly the name@version set npm installs from the upstream', () => {
    expect(upstreamSet.length).toBeGreaterThan(5);
    expect(artifactSet(artifacts)).toEqual(upstreamSet);
  });

  it('exercises the fixture cases: reuse of a hoisted version, peers, optional peers, platforms, dist-tags', () => {
    const set = artifactSet(artifacts);
    // fx-core's fx-util@^1 is met by the hoisted root fx-util@1.2.0: highest-per-range would add 1.1.0.
    expect(set).toContain('fx-util@1.2.0');
    expect(set).not.toContain('fx-util@1.1.0');
    expect(set).toContain('fx-util@2.0.0');
    expect(set).toContain('fx-peer-host@1.1.0');
    expect(set).not.toContain('fx-optional-peer@1.0.0');
    expect(set).toContain(`fx-opt-${HOST_OS === 'darwin' ? 'darwin' : 'linux'}@1.0.0`);
    expect(set).toContain('fx-beta@2.0.0-beta.1');
    expect(set).toContain('@fx/scoped@1.0.0');
  });

  it('carries a deprecated version with a warning naming it', () => {
    expect(packWarnings.some((w) => w.includes('fx-util@1.2.0') && w.includes('deprecated'))).toBe(true);
  });

  it('records sha256 digests of the untouched tarballs and the upstream integrity it checked', async () => {
    const { createHash } = await import('node:crypto');
    for (const a of artifacts) {
      const bytes = await readFile(tarballs.get(`${a.name}@${a.version}`)!);
      expect(a.digest).toBe('sha256:' + createHash('sha256').update(bytes).digest('hex'));
      expect(a.upstream.integrity?.integrity).toBe('sha512-' + createHash('sha512').update(bytes).digest('base64'));
      expect(a.upstream.verified).toMatch(/dist\.integrity \(sha512\)/);
      expect(a.upstream.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    }
  });

  it('without os/cpu keeps every platform\'s optional dependencies', async () => {
    const all = await packLib({ registry: upstream.url, packages: ['fx-app@^1'] }, sourceContext(join(work, 'store')));
    expect(artifactSet(all)).toEqual(expect.arrayContaining(['fx-opt-linux@1.0.0', 'fx-opt-darwin@1.0.0']));
  });

  it('dependencies: false carries only the named packages', async () => {
    const only = await packLib({ registry: upstream.url, packages: ROOTS, dependencies: false }, sourceContext(join(work, 'store')));
    expect(artifactSet(only)).toEqual(['fx-app@1.0.0', 'fx-beta@2.0.0-beta.1', 'fx-util@1.2.0']);
  });

  it('a second pack with the same cache downloads no tarball again', async () => {
    const store = join(work, 'store-twice');
    const first = upstream.requests.length;
    await packLib({ registry: upstream.url, packages: ROOTS, os: [HOST_OS] }, sourceContext(store));
    expect(upstream.requests.slice(first).filter((r) => r.method === 'GET' && r.path.endsWith('.tgz')).length).toBe(upstreamSet.length);
    const before = upstream.requests.length;
    const again = await packLib({ registry: upstream.url, packages: ROOTS, os: [HOST_OS] }, sourceContext(store));
    expect(artifactSet(again)).toEqual(upstreamSet);
    const sent = upstream.requests.slice(before);
    expect(sent.some((r) => r.method === 'GET')).toBe(true);
    expect(sent.filter((r) => r.path.endsWith('.tgz'))).toEqual([]);
  });

  it('fetch brings a tarball evicted from the cache back, checked against the recorded digest', async () => {
    const a = artifacts.find((x) => x.name === '@fx/scoped')!;
    const ctx = sourceContext(join(work, 'store-evicted'));
    expect(await ctx.store.has(a.digest)).toBe(false);
    await npm.source.fetch(a, ctx);
    expect(await ctx.store.has(a.digest)).toBe(true);
    const forged = { ...a, digest: 'sha256:' + 'ab'.repeat(32), blobs: [{ ...a.blobs[0], digest: 'sha256:' + 'ab'.repeat(32) }] };
    await expect(npm.source.fetch(forged, sourceContext(join(work, 'store-forged')))).rejects.toThrow(/digest mismatch/);
  });

  it('registry: default is the registry npm is configured with, read from npm at run time', async () => {
    const saved = process.env.npm_config_registry;
    process.env.npm_config_registry = upstream.url;
    try {
      const got = await packLib({ registry: 'default', packages: ['fx-beta@1.0.0'] }, sourceContext(join(work, 'store')));
      expect(got.map((a) => a.upstream.url)).toEqual([`${upstream.url}fx-beta/-/fx-beta-1.0.0.tgz`]);
    } finally {
      if (saved === undefined) delete process.env.npm_config_registry;
      else process.env.npm_config_registry = saved;
    }
  });

  it('a tokenEnv that is not set is a usage error naming the variable', async () => {
    const err = await packLib({ registry: upstream.url, packages: ['fx-app'], tokenEnv: 'AIRGAP_TEST_UNSET_TOKEN' }, sourceContext(join(work, 'store'))).catch((e) => e);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/AIRGAP_TEST_UNSET_TOKEN/);
  });

  it('a token from tokenEnv is sent to the registry, never printed', async () => {
    process.env.AIRGAP_TEST_NPM_TOKEN = upstream.token;
    try {
      const before = upstream.requests.length;
      const got = await packLib({ registry: upstream.url, packages: ['fx-beta@1.0.0'], tokenEnv: 'AIRGAP_TEST_NPM_TOKEN' }, sourceContext(join(work, 'store')));
      expect(artifactSet(got)).toEqual(['fx-beta@1.0.0']);
      expect(upstream.requests.slice(before).every((r) => r.authorization === `Bearer ${upstream.token}`)).toBe(true);
      expect(JSON.stringify(got)).not.toContain(upstream.token);
    } finally {
      delete process.env.AIRGAP_TEST_NPM_TOKEN;
    }
  });

  it('fails with a message naming the spec when no version matches', async () => {
    await expect(packLib({ registry: upstream.url, packages: ['fx-util@^9'] }, sourceContext(join(work, 'store')))).rejects.toThrow(/no version of fx-util matches "\^9"/);
    await expect(packLib({ registry: upstream.url, packages: ['fx-missing'] }, sourceContext(join(work, 'store')))).rejects.toThrow(/fx-missing is not in the registry/);
    // Both are the manifest's to fix (exit 2, docs/exit-codes.md); the versions nearest to the spec are named.
    await expect(packLib({ registry: upstream.url, packages: ['fx-missing'] }, sourceContext(join(work, 'store')))).rejects.toMatchObject({ exitCode: 2 });
    await expect(packLib({ registry: upstream.url, packages: ['fx-util@1.2.9'] }, sourceContext(join(work, 'store')))).rejects.toMatchObject({ exitCode: 2, hint: expect.stringContaining('nearest versions: 1.2.0') });
  });
});

describe('npm publish to a registry endpoint (verdaccio)', () => {
  it('unpacks into an empty verdaccio, from which npm installs exactly the upstream set', async () => {
    const ctx = registriesContext(join(work, 'store'), inside.url, { T_USER: inside.user, T_PASS: inside.password });
    const outcomes = await unpackLib(artifacts, npm.publish.endpoint!, ctx);
    expect(outcomes.filter((o) => o.action !== 'pushed')).toEqual([]);
    const insideSet = await installFrom(inside.url, inside.userconfig, 'inside');
    expect(insideSet).toEqual(upstreamSet);
    const doc = (await (await fetch(inside.url + 'fx-beta')).json()) as { 'dist-tags': Record<string, string> };
    expect(doc['dist-tags'].next).toBe('2.0.0-beta.1');
    const util = (await (await fetch(inside.url + 'fx-util')).json()) as { 'dist-tags': Record<string, string> };
    expect(util['dist-tags'].latest).toBe('2.0.0');
  });

  it('a second unpack finds everything present and sends no PUT', async () => {
    const before = inside.requests.length;
    const ctx = registriesContext(join(work, 'store'), inside.url, { T_USER: inside.user, T_PASS: inside.password });
    const outcomes = await unpackLib(artifacts, npm.publish.endpoint!, ctx);
    expect(outcomes.map((o) => o.action)).toEqual(artifacts.map(() => 'present'));
    const sent = inside.requests.slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('the same version with other content at the target is a failure that says so', async () => {
    const other = await startVerdaccio();
    try {
      const clash = await publishFixtures(other, join(work, 'clash'), [{ name: 'fx-core', version: '1.0.0', dependencies: { 'fx-util': '^1.1.0' } }]);
      expect(clash.size).toBe(1);
      const ctx = registriesContext(join(work, 'store'), other.url, { T_USER: other.user, T_PASS: other.password });
      const outcomes = await unpackLib(artifacts, npm.publish.endpoint!, ctx);
      const failed = outcomes.filter((o) => o.action === 'failed');
      expect(failed.map((o) => o.label)).toEqual(['fx-core@1.0.0']);
      expect(failed[0].error).toMatch(/fx-core@1\.0\.0 is already at .* with different content/);
      expect(outcomes.filter((o) => o.action === 'pushed').length).toBe(artifacts.length - 1);
    } finally {
      await other.close();
    }
  });
});

describe('npm publish to Nexus npm-hosted (the Nexus test double, docs/reference/nexus-api.md §8)', () => {
  let nexus: NexusDouble;
  beforeAll(async () => {
    nexus = await startNexusDouble({ anonymousRead: true });
  });
  afterAll(async () => nexus?.close());

  it('publishes through the nexus target; npm installs the upstream set from the repository; a re-run writes nothing', async () => {
    const { target, http, opened } = await openNexus(nexus, { formats: ['npm'] });
    const ctx = publishContext(new ContentStore(join(work, 'store')), target, http, opened.services);
    const outcomes = await unpackLib(artifacts, npm.publish.endpoint!, ctx);
    expect(outcomes.filter((o) => o.action !== 'pushed')).toEqual([]);
    const writes = nexus.writes().length;
    expect(writes).toBe(artifacts.length);
    expect(await installFrom(`${nexus.url}repository/npm-hosted/`, upstream.userconfig, 'nexus')).toEqual(upstreamSet);
    const again = await unpackLib(artifacts, npm.publish.endpoint!, ctx);
    expect(again.map((o) => o.action)).toEqual(artifacts.map(() => 'present'));
    expect(nexus.writes().length).toBe(writes);
  });
});

describe('npm dir mirror behind a static server', () => {
  let server: StaticServer;
  let mirror: string;
  beforeAll(async () => {
    mirror = join(work, 'mirror');
    await mkdir(mirror, { recursive: true });
    server = await startStaticServer(mirror);
  });
  afterAll(async () => server?.close());

  it('npm installs the upstream set from the packuments and tarballs written under npm/', async () => {
    const ctx = dirContext(join(work, 'store'), mirror, server.url + 'npm/');
    const outcomes = await unpackLib(artifacts, npm.publish.dir, ctx);
    expect(outcomes.filter((o) => o.action !== 'pushed')).toEqual([]);
    const set = await installFrom(server.url + 'npm/', upstream.userconfig, 'mirror');
    expect(set).toEqual(upstreamSet);
  });

  it('serves a scoped package under all three encodings of its name', async () => {
    const bodies = await Promise.all(['@fx%2fscoped', '@fx%2Fscoped', '@fx/scoped'].map(async (p) => {
      const res = await fetch(server.url + 'npm/' + p);
      expect(res.status).toBe(200);
      return (await res.json()) as { name: string; versions: Record<string, unknown> };
    }));
    for (const b of bodies) expect(b).toEqual(bodies[0]);
    expect(bodies[0].name).toBe('@fx/scoped');
    expect(Object.keys(bodies[0].versions)).toEqual(['1.0.0']);
  });

  it('a re-run finds everything present and rewrites packuments with all carried versions', async () => {
    const ctx = dirContext(join(work, 'store'), mirror, server.url + 'npm/');
    const outcomes = await unpackLib(artifacts, npm.publish.dir, ctx);
    expect(outcomes.map((o) => o.action)).toEqual(artifacts.map(() => 'present'));
    const doc = JSON.parse(await readFile(join(mirror, 'npm', 'fx-util'), 'utf8')) as { versions: Record<string, { dist: { tarball: string } }>; 'dist-tags': Record<string, string> };
    expect(Object.keys(doc.versions).sort()).toEqual(['1.2.0', '2.0.0']);
    expect(doc['dist-tags'].latest).toBe('2.0.0');
    expect(doc.versions['2.0.0'].dist.tarball).toBe(`${server.url}npm/-/fx-util/fx-util-2.0.0.tgz`);
  });

  it('a tarball changed in the mirror makes that version a failure, not a silent overwrite', async () => {
    const victim = artifacts.find((a) => a.name === 'fx-beta')!;
    const file = join(mirror, 'npm', '-', 'fx-beta', 'fx-beta-2.0.0-beta.1.tgz');
    const original = await readFile(file);
    await copyFile(tarballs.get('fx-beta@1.0.0')!, file);
    try {
      await expect(npm.publish.dir.exists(victim, dirContext(join(work, 'store'), mirror))).rejects.toThrow(/fx-beta@2\.0\.0-beta\.1 is already in .* with different content/);
    } finally {
      await writeFile(file, original);
    }
  });
});

describe('npm upstream integrity', () => {
  it('a tarball swapped in the upstream storage fails the pack naming package and version', async () => {
    const stored = join(upstream.storage, 'fx-core', 'fx-core-1.0.0.tgz');
    const original = await readFile(stored);
    await copyFile(tarballs.get('fx-util@1.0.0')!, stored);
    try {
      const err = await packLib({ registry: upstream.url, packages: ['fx-core@1.0.0'] }, sourceContext(join(work, 'fresh-store'))).catch((e) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect(err.exitCode).toBe(3);
      expect(err.message).toMatch(/npm fx-core@1\.0\.0: the tarball does not match the registry's dist\.integrity/);
    } finally {
      await writeFile(stored, original);
    }
  });
});

describe('CLI: airgap pack → verify → unpack with npm', () => {
  let keys: string;
  let bundle: string;
  let cliTarget: Verdaccio;
  let server: StaticServer;
  let config: string;
  const env = () => ({ T_USER: cliTarget.user, T_PASS: cliTarget.password });

  beforeAll(async () => {
    keys = join(work, 'cli-keys');
    const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
    expect(k.exitCode, k.stderr).toBe(0);
    cliTarget = await startVerdaccio();
    const mirror = join(work, 'cli-mirror');
    await mkdir(mirror, { recursive: true });
    server = await startStaticServer(mirror);
    config = join(work, 'airgap.yaml');
    await writeFile(config, [
      `trust: [${join(keys, 'outside.pub')}]`,
      'targets:',
      '  inside:',
      '    type: registries',
      `    endpoints: { npm: "${cliTarget.url}" }`,
      '    usernameEnv: T_USER',
      '    passwordEnv: T_PASS',
      '  mirror:',
      '    type: dir',
      `    path: ${mirror}`,
      `    npm: { baseUrl: "${server.url}npm/" }`,
      '',
    ].join('\n'));
    await writeFile(join(work, 'npm.yaml'), [
      'apiVersion: airgap/v1',
      'kind: Bundle',
      'name: npm-e2e',
      'npm:',
      `  - registry: ${upstream.url}`,
      `    packages: [${ROOTS.map((r) => JSON.stringify(r)).join(', ')}]`,
      `    os: [${HOST_OS}]`,
      '',
    ].join('\n'));
    const r = await runAirgapJson<{ bundle: string; artifacts: number }>(['pack', join(work, 'npm.yaml'), '--out', join(work, 'cli-out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cli-cache')], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.artifacts).toBe(upstreamSet.length);
    bundle = r.json.bundle;
  });

  afterAll(async () => {
    await Promise.all([cliTarget?.close(), server?.close()]);
  });

  it('verify accepts the bundle', async () => {
    const r = await runAirgapJson(['verify', bundle, '--config', config]);
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('unpack to a registries target: npm installs the upstream set from it; a re-run is all present with no PUT', async () => {
    const ledger = join(work, 'cli-ledger.jsonl');
    const r = await runAirgapJson(['unpack', bundle, '--to', 'inside', '--config', config, '--ledger', ledger], { env: env() });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.counts).toEqual({ pushed: upstreamSet.length });
    expect(await installFrom(cliTarget.url, cliTarget.userconfig, 'cli-inside')).toEqual(upstreamSet);
    const before = cliTarget.requests.length;
    const again = await runAirgapJson(['unpack', bundle, '--to', 'inside', '--config', config, '--ledger', ledger], { env: env() });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json.counts).toEqual({ present: upstreamSet.length });
    expect(cliTarget.requests.slice(before).filter((q) => q.method === 'PUT')).toEqual([]);
  });

  it('unpack to a dir target with npm.baseUrl: npm installs the upstream set from a static server', async () => {
    const r = await runAirgapJson(['unpack', bundle, '--to', 'mirror', '--config', config, '--ledger', join(work, 'cli-ledger-dir.jsonl')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await installFrom(server.url + 'npm/', upstream.userconfig, 'cli-mirror')).toEqual(upstreamSet);
  });

  it('pack fails (exit 3) naming package and version when an upstream tarball was swapped', async () => {
    const stored = join(upstream.storage, 'fx-plugin', 'fx-plugin-1.0.0.tgz');
    const original = await readFile(stored);
    await copyFile(tarballs.get('fx-peer-host@1.0.0')!, stored);
    try {
      const r = await runAirgap(['pack', join(work, 'npm.yaml'), '--out', join(work, 'cli-out-bad'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cli-cache-bad')], { cwd: work });
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toMatch(/fx-plugin@1\.0\.0/);
      expect(r.stderr).toMatch(/dist\.integrity/);
    } finally {
      await writeFile(stored, original);
    }
  });

  it('pack --dry-run lists the closure with sizes and downloads no tarball', async () => {
    const before = upstream.requests.length;
    const r = await runAirgapJson<{ artifacts: { name: string; version: string; size: number }[] }>(['pack', join(work, 'npm.yaml'), '--out', join(work, 'dry-out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'dry-cache'), '--dry-run'], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    const text = JSON.stringify(r.json);
    for (const m of upstreamSet) expect(text).toContain(m.slice(0, m.lastIndexOf('@')));
    const sent = upstream.requests.slice(before);
    expect(sent.filter((q) => q.method === 'GET' && q.path.endsWith('.tgz'))).toEqual([]);
    expect(sent.filter((q) => q.method === "HEAD").length, JSON.stringify(sent)).toBe(upstreamSet.length);
  });

  it('a manifest entry with an unknown key is refused (exit 2)', async () => {
    await writeFile(join(work, 'bad.yaml'), `apiVersion: airgap/v1\nkind: Bundle\nname: bad\nnpm:\n  - registry: ${upstream.url}\n    packages: [fx-app]\n    devDependencies: true\n`);
    const r = await runAirgap(['pack', join(work, 'bad.yaml'), '--out', join(work, 'bad-out'), '--key', join(keys, 'outside.key')], { cwd: work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/devDependencies/);
  });
});
