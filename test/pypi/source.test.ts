import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Artifact, IntegrityError, UpstreamError, UsageError, sha256Digest } from '@airgap/core';
import { type PypiArtifactMeta, type PypiSpec, pypiSource } from '@airgap/pypi';
import { tempDir } from '../harness/index.js';
import { sourceContext } from './contexts.js';
import { EXPECTED_LINUX_311, ROOTS, buildWheels } from './fixtures.js';
import { type IndexServer, startIndexServer } from './index-server.js';

let wheels: string;
let work: string;
const servers: IndexServer[] = [];

beforeAll(async () => {
  work = await tempDir('airgap-pypi-src-');
  wheels = await buildWheels(work);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(options: Parameters<typeof startIndexServer>[1] = {}) {
  const s = await startIndexServer(wheels, options);
  servers.push(s);
  return s;
}

let n = 0;
const freshStore = () => join(work, `store-${n++}`);
const spec = (s: IndexServer, extra: Partial<PypiSpec> = {}): PypiSpec => ({ index: s.indexUrl, requirements: ROOTS, python: '3.11', platforms: ['manylinux_2_17_x86_64'], ...extra });
const filenames = (as: Artifact[]) => as.map((a) => (a.meta as unknown as PypiArtifactMeta).filename).sort();

describe('pypi source: resolution for the target environment', () => {
  it.each([
    ['PEP 691 JSON with PEP 658 metadata', { format: 'negotiate', metadata: true, ranges: false }],
    ['PEP 503 HTML only, no metadata, HTTP ranges', { format: 'html', metadata: false, ranges: true }],
    ['PEP 503 HTML only, no metadata, no ranges (whole wheel read)', { format: 'html', metadata: false, ranges: false }],
  ] as const)('%s: backtracks, honours markers, extras, requires-python and platform tags', async (_label, options) => {
    const s = await server(options);
    const ctx = sourceContext(freshStore());
    const artifacts = await pypiSource.resolve(spec(s), ctx);
    expect(filenames(artifacts)).toEqual(EXPECTED_LINUX_311);
    const app = artifacts.find((a) => a.name === 'agap-app')!;
    expect(app).toMatchObject({ kind: 'pypi', version: '1.0', platform: 'py3-none-any' });
    expect(artifacts.find((a) => a.name === 'agap-native')!.platform).toBe('cp311-cp311-manylinux2014_x86_64');
    // Every artifact carries its core metadata as a second blob, byte-identical to the wheel's METADATA.
    for (const a of artifacts) {
      const meta = a.meta as unknown as PypiArtifactMeta;
      const expected = await readFile(join(wheels, meta.filename + '.metadata'));
      expect(a.blobs[1].digest).toBe(sha256Digest(expected));
      expect(a.digest).toBe(sha256Digest(await readFile(join(wheels, meta.filename))));
      expect(meta.metadata.requires_dist ?? []).toEqual((expected.toString().match(/^Requires-Dist: .*$/gm) ?? []).map((l) => l.slice(15)));
    }
    expect(app.meta).toMatchObject({ filetype: 'bdist_wheel', pyversion: 'py3', requiresPython: '>=3.8' });
    const pagesAsked = s.requests.filter((r) => r.path.startsWith('/simple/'));
    expect(pagesAsked.every((r) => r.accept?.startsWith('application/vnd.pypi.simple.v1+json'))).toBe(true);
    expect(pagesAsked.map((r) => r.path)).not.toContain('/simple/agap-winonly/');
    if (options.ranges) {
      // METADATA came from the central directory by range requests: no wheel was downloaded whole.
      const wheelGets = s.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/files/') && r.path.endsWith('.whl'));
      expect(wheelGets.length).toBeGreaterThan(0);
      expect(wheelGets.every((r) => r.status === 206)).toBe(true);
    }
    if (options.metadata) {
      expect(s.requests.some((r) => r.path.endsWith('.whl.metadata'))).toBe(true);
      expect(s.requests.some((r) => r.path.endsWith('.whl'))).toBe(false);
    }
  });

  it('evaluates markers for the target, not this machine: a Windows target gets the win32-only dependency and the win wheel', async () => {
    const s = await server();
    const artifacts = await pypiSource.resolve(spec(s, { platforms: ['win_amd64'] }), sourceContext(freshStore()));
    expect(filenames(artifacts)).toEqual([
      'agap_app-1.0-py3-none-any.whl',
      'agap_lib-1.0-py3-none-any.whl',
      'agap_native-1.0-cp311-cp311-win_amd64.whl',
      'agap_pinned-1.0-py3-none-any.whl',
      'agap_speedup-1.0-py3-none-any.whl',
      'agap_winonly-1.0-py3-none-any.whl',
    ]);
  });

  it('several platforms carry the union of their closures; a newer Python gets the newer requires-python release', async () => {
    const s = await server();
    const artifacts = await pypiSource.resolve(spec(s, { python: '3.12', requirements: ['agap-pinned', 'agap-app[fast]'], platforms: ['manylinux_2_28_x86_64', 'win_amd64'] }), sourceContext(freshStore()));
    expect(filenames(artifacts)).toEqual([
      'agap_app-1.0-py3-none-any.whl',
      'agap_lib-1.0-py3-none-any.whl',
      'agap_pinned-1.0-py3-none-any.whl',
      'agap_speedup-2.0-py3-none-any.whl',
      'agap_winonly-1.0-py3-none-any.whl',
    ]);
  });

  it('a cp311 wheel does not fit Python 3.12, and the error says which target was tried', async () => {
    const s = await server();
    const err = await pypiSource.resolve(spec(s, { python: '3.12', requirements: ['agap-native'] }), sourceContext(freshStore())).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('no version of agap-native satisfies "agap-native" (required by the manifest)');
    expect(err.message).toContain('Python 3.12');
  });

  it('without the extra, the extra-only dependency is not carried; without dependencies only the roots', async () => {
    const s = await server();
    const plain = await pypiSource.resolve(spec(s, { requirements: ['agap-app'] }), sourceContext(freshStore()));
    expect(filenames(plain)).toEqual(['agap_app-2.0-py3-none-any.whl', 'agap_lib-2.0-py3-none-any.whl']);
    const roots = await pypiSource.resolve(spec(s, { requirements: ['agap-app'], dependencies: false }), sourceContext(freshStore()));
    expect(filenames(roots)).toEqual(['agap_app-2.0-py3-none-any.whl']);
  });

  it('takes an sdist only when no wheel fits', async () => {
    const s = await server();
    const only = await pypiSource.resolve(spec(s, { requirements: ['agap-srconly'] }), sourceContext(freshStore()));
    expect(only.map((a) => [a.name, a.version, a.platform, (a.meta as unknown as PypiArtifactMeta).filetype])).toEqual([['agap-srconly', '1.0', 'sdist', 'sdist']]);
    expect(filenames(only)[0]).toMatch(/^agap[-_]srconly-1\.0\.tar\.gz$/);
    expect(only[0].blobs).toHaveLength(1);
    const both = await pypiSource.resolve(spec(s, { requirements: ['agap-lib==1.0'] }), sourceContext(freshStore()));
    expect(filenames(both)).toEqual(['agap_lib-1.0-py3-none-any.whl']);
  });

  it('skips a yanked release unless it is pinned exactly', async () => {
    const s = await server({ yanked: new Set(['agap_lib-2.0-py3-none-any.whl']) });
    expect(filenames(await pypiSource.resolve(spec(s, { requirements: ['agap-lib'] }), sourceContext(freshStore())))).toEqual(['agap_lib-1.0-py3-none-any.whl']);
    expect(filenames(await pypiSource.resolve(spec(s, { requirements: ['agap-lib==2.0'] }), sourceContext(freshStore())))).toEqual(['agap_lib-2.0-py3-none-any.whl']);
  });

  it('an unsatisfiable set fails with exit 2 (versions the index does not have together) naming both sides of the conflict', async () => {
    const s = await server();
    const err = await pypiSource.resolve(spec(s, { requirements: ['agap-pinned', 'agap-lib>=2'] }), sourceContext(freshStore())).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('no version of agap-lib satisfies');
    expect(err.message).toContain('"agap-lib (<2)" (required by agap-pinned 1.0)');
    expect(err.message).toContain('"agap-lib>=2" (required by the manifest)');
  });

  it('a requirement no file fits says what was seen', async () => {
    const s = await server();
    const err = await pypiSource.resolve(spec(s, { requirements: ['agap-native'], platforms: ['macosx_11_0_arm64'] }), sourceContext(freshStore())).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/no version of agap-native satisfies "agap-native".*versions seen: 1\.0/);
  });

  it('refuses a bad requirement or Python with exit 2, and an unknown project with exit 1', async () => {
    const s = await server();
    const bad = await pypiSource.resolve(spec(s, { requirements: ['agap-lib >>= 1'] }), sourceContext(freshStore())).catch((e) => e);
    expect(bad).toBeInstanceOf(UsageError);
    expect(bad.message).toContain('requirements[0]');
    const url = await pypiSource.resolve(spec(s, { requirements: ['agap-lib @ https://example.invalid/x.whl'] }), sourceContext(freshStore())).catch((e) => e);
    expect(url).toBeInstanceOf(UsageError);
    const marker = await pypiSource.resolve(spec(s, { requirements: ['agap-lib; python_version ~= "x"'] }), sourceContext(freshStore())).catch((e) => e);
    expect(marker).toBeInstanceOf(UsageError);
    expect(marker.message).toContain('cannot compare "3.11" ~= "x"');
    const py = await pypiSource.resolve(spec(s, { python: 'three' }), sourceContext(freshStore())).catch((e) => e);
    expect(py).toBeInstanceOf(UsageError);
    const missing = await pypiSource.resolve(spec(s, { requirements: ['agap-nothing'] }), sourceContext(freshStore())).catch((e) => e);
    expect(missing).toBeInstanceOf(UsageError);
    expect(missing.message).toContain('project agap-nothing not found');
  });

  it('a credential variable that is not set is a usage error naming it', async () => {
    const s = await server();
    delete process.env.AIRGAP_TEST_PYPI_TOKEN_UNSET;
    const err = await pypiSource.resolve(spec(s, { tokenEnv: 'AIRGAP_TEST_PYPI_TOKEN_UNSET' }), sourceContext(freshStore())).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('AIRGAP_TEST_PYPI_TOKEN_UNSET');
  });
});

describe('pypi source: fetch verifies the index hashes while streaming', () => {
  it('brings every blob into the store', async () => {
    const s = await server();
    const ctx = sourceContext(freshStore());
    const artifacts = await pypiSource.resolve(spec(s), ctx);
    for (const a of artifacts) await pypiSource.fetch(a, ctx);
    for (const a of artifacts) for (const b of a.blobs) expect(await ctx.store.has(b.digest)).toBe(true);
    // A second fetch of what is in the store asks the upstream nothing.
    const before = s.requests.length;
    for (const a of artifacts) await pypiSource.fetch(a, ctx);
    expect(s.requests.length).toBe(before);
  });

  it('a file whose bytes do not match the index hash fails the pack naming the file', async () => {
    const victim = 'agap_lib-1.0-py3-none-any.whl';
    const s = await server({ tamper: new Set([victim]) });
    const ctx = sourceContext(freshStore());
    const artifacts = await pypiSource.resolve(spec(s), ctx);
    const lib = artifacts.find((a) => (a.meta as unknown as PypiArtifactMeta).filename === victim)!;
    const err = await pypiSource.fetch(lib, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.message).toContain(victim);
    expect(err.message).toMatch(/sha256/);
    expect(await ctx.store.has(lib.digest)).toBe(false);
  });

  it('tampered bytes are refused even when the wheel is read for its METADATA during resolution', async () => {
    const victim = 'agap_pinned-1.0-py3-none-any.whl';
    const s = await server({ tamper: new Set([victim]), format: 'html', metadata: false, ranges: false });
    const err = await pypiSource.resolve(spec(s), sourceContext(freshStore())).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.message).toContain(victim);
  });

  it('a PEP 658 metadata file that does not match its advertised hash fails naming it', async () => {
    const victim = 'agap_pinned-1.0-py3-none-any.whl';
    const s = await server({ tamperMetadata: new Set([victim]) });
    const err = await pypiSource.resolve(spec(s), sourceContext(freshStore())).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.message).toContain(`${victim}.metadata`);
  });

  it('index credentials from tokenEnv go as Basic __token__ to the index and never into messages', async () => {
    const token = 'pypi-secret-token-value';
    const s = await server({ basicAuth: Buffer.from(`__token__:${token}`).toString('base64') });
    process.env.AIRGAP_TEST_PYPI_TOKEN = token;
    try {
      const ctx = sourceContext(freshStore());
      const artifacts = await pypiSource.resolve(spec(s, { tokenEnv: 'AIRGAP_TEST_PYPI_TOKEN' }), ctx);
      expect(filenames(artifacts)).toEqual(EXPECTED_LINUX_311);
      for (const a of artifacts) await pypiSource.fetch(a, ctx);
      expect(s.requests.every((r) => r.status !== 401)).toBe(true);
      expect(JSON.stringify(artifacts)).not.toContain(token);
      const missing = await pypiSource.resolve(spec(s, { requirements: ['agap-nothing'], tokenEnv: 'AIRGAP_TEST_PYPI_TOKEN' }), sourceContext(freshStore())).catch((e) => e);
      expect(missing).toBeInstanceOf(UsageError);
      expect(missing.message).not.toContain(token);
      // Without the credentials the index refuses, and the error names the status.
      const refused = await pypiSource.resolve(spec(s), sourceContext(freshStore())).catch((e) => e);
      expect(refused).toBeInstanceOf(UpstreamError);
      expect(refused.message).toMatch(/401/);
    } finally {
      delete process.env.AIRGAP_TEST_PYPI_TOKEN;
    }
  });

  it('dry run resolves from metadata only: no distribution file is downloaded', async () => {
    const s = await server();
    const artifacts = await pypiSource.resolve(spec(s), sourceContext(freshStore(), { dryRun: true }));
    expect(filenames(artifacts)).toEqual(EXPECTED_LINUX_311);
    expect(s.requests.some((r) => r.path.endsWith('.whl'))).toBe(false);
  });
});
