import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Artifact, ContentStore, type RegistriesTargetConfig, type ResolvedTarget, TargetError, silentLogger } from '@airgap/core';
import { registriesDriver } from '@airgap/nexus';
import { type PypiArtifactMeta, pypiEndpointPublisher as publisher, pypiSource } from '@airgap/pypi';
import { tempDir } from '../harness/index.js';
import { DEFAULT_REPOSITORIES, DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { pypiUploads } from '../nexus-double/formats/pypi.js';
import { fastHttp, goodEnv, openNexus, publishContext } from '../nexus/support.js';
import { sourceContext } from './contexts.js';
import { ROOTS, buildWheels } from './fixtures.js';
import { type IndexServer, startIndexServer } from './index-server.js';

/**
 * The Nexus half against the Nexus test double (test/nexus-double, docs/reference/nexus-api.md §7): twine's upload
 * form, byte-identical files, presence by path + sha256, nothing sent on a re-run. The reference for
 * "what twine sends" is the real twine (Debian's), uploading the same wheel to the same double.
 */
let work: string;
let wheels: string;
let upstream: IndexServer;
let store: ContentStore;
let artifacts: Artifact[];
let double: NexusDouble | undefined;

beforeAll(async () => {
  work = await tempDir('airgap-pypi-nexus-');
  wheels = await buildWheels(work);
  upstream = await startIndexServer(wheels);
  const ctx = sourceContext(join(work, 'store'));
  store = ctx.store;
  artifacts = await pypiSource.resolve({ index: upstream.indexUrl, requirements: ROOTS, python: '3.11', platforms: ['manylinux_2_17_x86_64'] }, ctx);
  for (const a of artifacts) await pypiSource.fetch(a, ctx);
});
afterAll(async () => {
  await upstream?.close();
});
afterEach(async () => {
  await double?.close();
  double = undefined;
});

async function setup(opts: Parameters<typeof startNexusDouble>[0] = {}) {
  double = await startNexusDouble(opts);
  const { target, http, opened } = await openNexus(double, { formats: ['pypi'] });
  return publishContext(store, target, http, opened.services);
}

const filename = (a: Artifact) => (a.meta as unknown as PypiArtifactMeta).filename;

async function unpack(ctx: Awaited<ReturnType<typeof setup>>): Promise<string[]> {
  const out: string[] = [];
  for (const a of artifacts) {
    if ((await publisher.exists(a, ctx)) === 'present') out.push('present');
    else {
      await publisher.publish(a, ctx);
      out.push('pushed');
    }
  }
  return out;
}

describe('pypi → Nexus pypi-hosted (twine legacy upload)', () => {
  it('uploads each file once, byte-identical, at packages/<name>/<version>/<file>; a re-run sends nothing', async () => {
    const ctx = await setup();
    expect(publisher.format(artifacts[0])).toBe('pypi');
    expect(await unpack(ctx)).toEqual(artifacts.map(() => 'pushed'));
    const posts = double!.writes();
    expect(posts.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(artifacts.map(() => 'POST /repository/pypi-hosted/ 200'));
    expect(posts.every((r) => String(r.headers['content-type']).startsWith('multipart/form-data; boundary='))).toBe(true);
    for (const a of artifacts) {
      const path = `packages/${a.name}/${a.version}/${filename(a)}`;
      const stored = await double!.storage.read('pypi-hosted', path);
      expect(stored?.equals(await readFile(join(wheels, filename(a)))), path).toBe(true);
    }
    const before = double!.requests.length;
    expect(await unpack(ctx)).toEqual(artifacts.map(() => 'present'));
    expect(double!.writes()).toHaveLength(artifacts.length);
    expect(double!.requests.slice(before).some((r) => r.path === '/service/rest/v1/search/assets')).toBe(true);
  });

  it('sends the fields the real twine sends for the same wheel, with the same values', async () => {
    const ctx = await setup({ repositories: [...DEFAULT_REPOSITORIES, { name: 'pypi-twine', format: 'pypi', type: 'hosted', writePolicy: 'ALLOW' }] });
    const app = artifacts.find((a) => a.name === 'agap-app')!;
    await publisher.publish(app, ctx);
    const twine = await execa('twine', [
      'upload', '--non-interactive', '--disable-progress-bar', '--repository-url', `${double!.url}repository/pypi-twine/`,
      '-u', DEFAULT_USER.username, '-p', DEFAULT_USER.password, join(wheels, filename(app)),
    ], { reject: false, env: { TWINE_CERT: '', HOME: work } });
    expect(twine.exitCode, twine.stderr + twine.stdout).toBe(0);
    const [ours] = pypiUploads(double!, 'pypi-hosted');
    const [theirs] = pypiUploads(double!, 'pypi-twine');
    expect(theirs.path).toBe(ours.path);
    // Digests other than sha256 would need a second pass over the file; `comment` is twine's own.
    const skip = new Set(['md5_digest', 'blake2_256_digest', 'comment']);
    const expected = theirs.fields.filter(([k, v]) => !skip.has(k) && v !== '');
    for (const pair of expected) expect(ours.fields, `field ${pair[0]}`).toContainEqual(pair);
    expect(ours.fields).toContainEqual([':action', 'file_upload']);
    expect(ours.fields).toContainEqual(['protocol_version', '1']);
    expect(ours.fields).toContainEqual(['sha256_digest', app.digest.slice(7)]);
    expect((await double!.storage.read('pypi-twine', theirs.path))!.equals((await double!.storage.read('pypi-hosted', ours.path))!)).toBe(true);
  });

  it('a different file under the same path is a failure that says so; nothing is overwritten', async () => {
    const ctx = await setup();
    const lib = artifacts.find((a) => a.name === 'agap-lib')!;
    const path = `packages/agap-lib/${lib.version}/${filename(lib)}`;
    await double!.storage.put(double!.repositories.get('pypi-hosted')!, path, Buffer.from('other bytes'), { component: { name: 'agap-lib', version: lib.version } });
    const err = await publisher.exists(lib, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect(err.message).toContain(path);
    expect(double!.writes()).toEqual([]);
    expect((await double!.storage.read('pypi-hosted', path))!.toString()).toBe('other bytes');
  });

  it('the search index lagging behind an upload is settled by hashing the stored asset', async () => {
    const ctx = await setup();
    const lib = artifacts.find((a) => a.name === 'agap-lib')!;
    await publisher.publish(lib, ctx);
    double!.fail({ method: 'GET', path: '/service/rest/v1/search/assets', times: 2, status: 200, body: '{"items":[],"continuationToken":null}', headers: { 'content-type': 'application/json' } });
    const before = double!.requests.length;
    expect(await publisher.exists(lib, ctx)).toBe('present');
    expect(double!.requests.slice(before).some((r) => r.method === 'GET' && r.path === `/repository/pypi-hosted/packages/agap-lib/${lib.version}/${filename(lib)}`)).toBe(true);
    expect(double!.writes()).toHaveLength(1);
  });

  it('a registries target (any twine-compatible server, no Nexus REST API): presence from its simple page, same upload', async () => {
    double = await startNexusDouble();
    const config: RegistriesTargetConfig = { type: 'registries', endpoints: { pypi: `${double.url}repository/pypi-hosted/` }, usernameEnv: 'NEXUS_USER', passwordEnv: 'NEXUS_PASSWORD' };
    const target: ResolvedTarget = { type: 'registries', name: 'plain', config };
    const http = fastHttp();
    const opened = await registriesDriver.open(target, { http, config: { targets: { plain: config } }, log: silentLogger, formats: new Set(['pypi']), dryRun: false, env: goodEnv });
    const ctx = publishContext(store, target, http, opened.services);
    expect(await unpack(ctx)).toEqual(artifacts.map(() => 'pushed'));
    expect(double.requests.some((r) => r.path.startsWith('/service/rest/'))).toBe(false);
    const writes = double.writes().length;
    expect(await unpack(ctx)).toEqual(artifacts.map(() => 'present'));
    expect(double.writes()).toHaveLength(writes);
    expect(double.requests.some((r) => r.path === '/repository/pypi-hosted/simple/agap-lib/')).toBe(true);
  });

  it('a refused upload is a TargetError naming the URL and status', async () => {
    const ctx = await setup();
    double!.fail({ method: 'POST', path: '/repository/pypi-hosted/', status: 403, times: 1 });
    const err = await publisher.publish(artifacts[0], ctx).catch((e) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect(err.message).toMatch(/repository\/pypi-hosted\/.*403/);
  });
});
