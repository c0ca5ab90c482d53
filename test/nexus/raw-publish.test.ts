import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentStore, TargetError, silentLogger } from '@airgap/core';
import { registriesDriver } from '@airgap/nexus';
import { fileEndpointPublisher as raw } from '@airgap/files';
import { tempDir } from '../harness/index.js';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { PASSWORD_ENV, USER_ENV, fastHttp, fileArtifact, goodEnv, openNexus, publishContext } from './support.js';

let double: NexusDouble;
let store: ContentStore;

beforeEach(async () => {
  store = new ContentStore(await tempDir('airgap-raw-'));
});
afterEach(async () => {
  await double?.close();
});

async function setup(opts: Parameters<typeof startNexusDouble>[0] = {}, env?: NodeJS.ProcessEnv) {
  double = await startNexusDouble(opts);
  const { target, http, opened } = await openNexus(double, { env });
  return publishContext(store, target, http, opened.services);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('files → Nexus raw repository (docs/reference/nexus-api.md §9)', () => {
  it('absent → PUT to /repository/<raw>/<path>, byte-identical; then present without a PUT', async () => {
    const ctx = await setup();
    const bytes = randomBytes(200_000);
    const a = await fileArtifact(store, 'tools/velero v1.14/velero.tar.gz', bytes);
    expect(await raw.exists(a, ctx)).toBe('absent');
    await raw.publish(a, ctx);
    const put = double.writes();
    expect(put.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['PUT /repository/raw-hosted/tools/velero v1.14/velero.tar.gz 201']);
    expect(put[0].headers['content-length']).toBe(String(bytes.length));
    expect((await double.storage.read('raw-hosted', 'tools/velero v1.14/velero.tar.gz'))!.equals(bytes)).toBe(true);

    const before = double.requests.length;
    expect(await raw.exists(a, ctx)).toBe('present');
    const asked = double.requests.slice(before);
    expect(asked.map((r) => r.method)).not.toContain('PUT');
    // HEAD plus the stored sha256 from the search API
    expect(asked[0].method).toBe('HEAD');
    expect(asked.some((r) => r.path === '/service/rest/v1/search/assets' && r.query.get('sha256') === sha256(bytes))).toBe(true);
  });

  it('a different file at the same path is a failure naming the asset and both checksums, never an overwrite', async () => {
    const ctx = await setup();
    const old = randomBytes(1000);
    await double.storage.put(double.repositories.get('raw-hosted')!, 'tools/x.bin', old, { component: { name: 'tools/x.bin', group: '/tools' } });
    const a = await fileArtifact(store, 'tools/x.bin', randomBytes(1000));
    const e = await raw.exists(a, ctx).then(() => undefined, (err: unknown) => err as TargetError);
    expect(e).toBeInstanceOf(TargetError);
    expect(e!.message).toContain('raw-hosted/tools/x.bin');
    expect(e!.message).toContain('different checksum');
    expect(e!.message).toContain(sha256(old));
    expect(e!.message).toContain(a.digest.slice(7));
    expect(double.writes()).toEqual([]);
    expect((await double.storage.read('raw-hosted', 'tools/x.bin'))!.equals(old)).toBe(true);
  });

  it('falls back to reading the asset when the search knows nothing about it (index lag)', async () => {
    const ctx = await setup();
    const bytes = randomBytes(5000);
    const a = await fileArtifact(store, 'lag.bin', bytes);
    await raw.publish(a, ctx);
    double.fail({ method: 'GET', path: '/service/rest/v1/search/assets', times: 2, status: 200, body: '{"items":[],"continuationToken":null}', headers: { 'content-type': 'application/json' } });
    expect(await raw.exists(a, ctx)).toBe('present');
    expect(double.requests.some((r) => r.method === 'GET' && r.path === '/repository/raw-hosted/lag.bin')).toBe(true);
  });

  it('without the search privilege (403) presence is decided by reading the asset', async () => {
    const ctx = await setup({ users: [{ ...DEFAULT_USER, search: false }] });
    const a = await fileArtifact(store, 'nosearch.bin', randomBytes(3000));
    await raw.publish(a, ctx);
    expect(await raw.exists(a, ctx)).toBe('present');
    expect(double.requests.some((r) => r.path === '/service/rest/v1/search/assets' && r.status === 403)).toBe(true);
    expect(double.requests.at(-1)).toMatchObject({ method: 'GET', path: '/repository/raw-hosted/nosearch.bin', status: 200 });
  });

  it('400 "cannot be updated" with a different stored checksum fails naming the asset (docs/design.md)', async () => {
    const ctx = await setup();
    await double.storage.put(double.repositories.get('raw-hosted')!, 'dup.bin', randomBytes(10), { component: { name: 'dup.bin' } });
    const a = await fileArtifact(store, 'dup.bin', randomBytes(10));
    const e = await raw.publish(a, ctx).then(() => undefined, (err: unknown) => err as TargetError);
    expect(e).toBeInstanceOf(TargetError);
    expect(e!.message).toMatch(/raw-hosted\/dup\.bin: already exists with a different checksum/);
    expect(e!.message).toContain('raw-hosted/dup.bin cannot be updated');
    expect(double.writes().map((r) => r.status)).toEqual([400]);
  });

  it('400 "Repository does not allow updating assets" (Orient wording) with the same checksum counts as done', async () => {
    const ctx = await setup({ generation: 'orient' });
    const bytes = randomBytes(10);
    await double.storage.put(double.repositories.get('raw-hosted')!, 'same.bin', bytes, { component: { name: 'same.bin' } });
    const a = await fileArtifact(store, 'same.bin', bytes);
    await expect(raw.publish(a, ctx)).resolves.toBeUndefined();
    const w = double.writes();
    expect(w).toHaveLength(1);
    expect(w[0].status).toBe(400);
  });

  it('retries 503 twice then succeeds with the full body', async () => {
    const ctx = await setup();
    double.fail({ method: 'PUT', times: 2, status: 503 });
    const bytes = randomBytes(300_000);
    const a = await fileArtifact(store, 'retry.bin', bytes);
    await raw.publish(a, ctx);
    expect(double.writes().map((r) => r.status)).toEqual([503, 503, 201]);
    expect((await double.storage.read('raw-hosted', 'retry.bin'))!.equals(bytes)).toBe(true);
  });

  it('does not retry a 4xx', async () => {
    const ctx = await setup();
    double.fail({ method: 'PUT', times: 1, status: 413, statusText: 'Request Entity Too Large', body: '<html><body><h1>413 Request Entity Too Large</h1><hr><center>nginx</center></body></html>' });
    const a = await fileArtifact(store, 'big.bin', randomBytes(2000));
    const e = await raw.publish(a, ctx).then(() => undefined, (err: unknown) => err as TargetError);
    expect(e).toBeInstanceOf(TargetError);
    expect(e!.message).toMatch(/HTTP 413/);
    expect(e!.hint).toMatch(/client_max_body_size/);
    expect(double.writes()).toHaveLength(1);
  });

  it('403 on a repository the user may not write names the privilege', async () => {
    const ctx = await setup({ users: [{ ...DEFAULT_USER, write: [] }] });
    const a = await fileArtifact(store, 'no.bin', randomBytes(20));
    const e = await raw.publish(a, ctx).then(() => undefined, (err: unknown) => err as TargetError);
    expect(e!.message).toMatch(/raw-hosted\/no\.bin: PUT .*HTTP 403/);
    expect(e!.hint).toMatch(/nx-repository-view-raw-raw-hosted-add/);
  });

  it('the wrong password is refused with 401, naming the variables and never the password', async () => {
    double = await startNexusDouble();
    const { target, http, opened } = await openNexus(double);
    const ctx = publishContext(store, target, http, opened.services);
    // the password changes after preflight (rotated mid-run): publish sees the 401
    double.addUser({ ...DEFAULT_USER, password: 'rotated-password' });
    const a = await fileArtifact(store, 'auth.bin', randomBytes(20));
    const e = await raw.exists(a, ctx).then(() => undefined, (err: unknown) => err as TargetError);
    expect(e).toBeInstanceOf(TargetError);
    expect(`${e!.message} ${e!.hint}`).toContain(PASSWORD_ENV);
    expect(`${e!.message} ${e!.hint}`).toContain(USER_ENV);
    expect(`${e!.message} ${e!.hint}`).not.toContain(DEFAULT_USER.password);
  });

  it('refuses a path that would leave the repository', async () => {
    const ctx = await setup();
    const a = await fileArtifact(store, 'ok.bin', randomBytes(5));
    a.meta = { path: '../escape.bin' };
    await expect(raw.publish(a, ctx)).rejects.toThrow(/not a safe relative path/);
    expect(double.writes()).toEqual([]);
  });

  it('through a registries target (no REST API): presence by HEAD and reading the asset back', async () => {
    double = await startNexusDouble();
    const config = { type: 'registries' as const, endpoints: { raw: `${double.url}repository/raw-hosted` }, usernameEnv: USER_ENV, passwordEnv: PASSWORD_ENV };
    const target = { type: 'registries' as const, name: 'plain', config };
    const http = fastHttp();
    const opened = await registriesDriver.open(target, { http, config: {}, log: silentLogger, formats: new Set(['raw'] as const), dryRun: false, env: goodEnv });
    const ctx = publishContext(store, target, http, opened.services);
    const bytes = randomBytes(4000);
    const a = await fileArtifact(store, 'plain/x.bin', bytes);
    expect(await raw.exists(a, ctx)).toBe('absent');
    await raw.publish(a, ctx);
    expect(await raw.exists(a, ctx)).toBe('present');
    expect(double.requests.filter((r) => r.path.startsWith('/service/rest'))).toEqual([]);
    expect(double.requests.map((r) => r.method)).toEqual(['HEAD', 'PUT', 'HEAD', 'GET']);
    const other = await fileArtifact(store, 'plain/x.bin', randomBytes(4000));
    await expect(raw.exists(other, ctx)).rejects.toThrow(/plain\/x\.bin: already exists with a different checksum/);
  });

  it('declares the raw format so preflight checks the raw repository', () => {
    expect(raw.format({} as never)).toBe('raw');
  });
});
