/**
 * The Nexus test double answers as docs/reference/nexus-api.md says Nexus does; these checks keep it honest
 * for every test (and every ecosystem) that relies on it. The client is Node's fetch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';

let d: NexusDouble;
afterEach(async () => {
  await d?.close();
});

const auth = { authorization: `Basic ${Buffer.from(`${DEFAULT_USER.username}:${DEFAULT_USER.password}`).toString('base64')}` };
const go = (path: string, init: RequestInit = {}) => fetch(new URL(path, d.url), { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });

function form(fields: [string, string | Blob][]): FormData {
  const f = new FormData();
  for (const [k, v] of fields) {
    if (typeof v === 'string') f.append(k, v);
    else f.append(k, v, 'upload.bin');
  }
  return f;
}

describe('Nexus double: auth and status (docs/reference/nexus-api.md §1, §10)', () => {
  it('challenges anonymous and wrong credentials with Nexus\'s realm; status needs no auth', async () => {
    d = await startNexusDouble();
    const anon = await fetch(new URL('service/rest/v1/repositories', d.url));
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toBe('BASIC realm="Sonatype Nexus Repository Manager"');
    const wrong = await fetch(new URL('repository/raw-hosted/x', d.url), { headers: { authorization: `Basic ${Buffer.from('airgap:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
    expect((await fetch(new URL('service/rest/v1/status/writable', d.url))).status).toBe(200);
    d.writable = false;
    expect((await fetch(new URL('service/rest/v1/status/writable', d.url))).status).toBe(503);
    expect((await fetch(new URL('service/rest/v1/status', d.url))).status).toBe(200);
  });

  it('lists only repositories the user may read', async () => {
    d = await startNexusDouble({ users: [{ ...DEFAULT_USER, read: ['raw-hosted'] }] });
    const list = await (await go('service/rest/v1/repositories')).json();
    expect(list).toEqual([{ name: 'raw-hosted', format: 'raw', type: 'hosted', url: `${d.url}repository/raw-hosted`, attributes: {} }]);
  });
});

describe('Nexus double: raw hosted (docs/reference/nexus-api.md §9, §11)', () => {
  it('PUT 201, GET/HEAD 200, ALLOW_ONCE redeploy 400 through sendError, DELETE 204/404, other methods 405', async () => {
    d = await startNexusDouble();
    expect((await go('repository/raw-hosted/a/b.txt', { method: 'PUT', body: 'one' })).status).toBe(201);
    const get = await go('repository/raw-hosted/a/b.txt');
    expect([get.status, await get.text()]).toEqual([200, 'one']);
    const head = await go('repository/raw-hosted/a/b.txt', { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length')]).toEqual([200, '3']);
    const again = await go('repository/raw-hosted/a/b.txt', { method: 'PUT', body: 'two' });
    expect(again.status).toBe(400);
    expect(again.statusText).toBe('raw-hosted/a/b.txt cannot be updated');
    expect(again.headers.get('content-type')).toMatch(/text\/html/);
    expect(await (await go('repository/raw-hosted/a/b.txt')).text()).toBe('one');
    expect((await go('repository/raw-hosted/a/b.txt', { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await go('repository/raw-hosted/a/b.txt', { method: 'DELETE' })).status).toBe(204);
    expect((await go('repository/raw-hosted/a/b.txt', { method: 'DELETE' })).status).toBe(404);
    expect((await go('repository/raw-hosted/a/b.txt', { method: 'HEAD' })).status).toBe(404);
  });

  it('ALLOW replaces, DENY refuses every write, Orient wording on request; proxies take no writes; unknown repository 404', async () => {
    d = await startNexusDouble({
      generation: 'orient',
      repositories: [{ name: 'open', format: 'raw', writePolicy: 'ALLOW' }, { name: 'closed', format: 'raw', writePolicy: 'DENY' }, { name: 'once', format: 'raw' }, { name: 'px', format: 'raw', type: 'proxy' }],
    });
    await go('repository/open/f', { method: 'PUT', body: 'one' });
    expect((await go('repository/open/f', { method: 'PUT', body: 'two' })).status).toBe(201);
    expect(await (await go('repository/open/f')).text()).toBe('two');
    const denied = await go('repository/closed/f', { method: 'PUT', body: 'x' });
    expect([denied.status, denied.statusText]).toEqual([400, 'Repository is read-only: closed']);
    await go('repository/once/f', { method: 'PUT', body: 'x' });
    expect((await go('repository/once/f', { method: 'PUT', body: 'x' })).statusText).toBe('Repository does not allow updating assets: once');
    expect((await go('repository/px/f', { method: 'PUT', body: 'x' })).status).toBe(405);
    expect((await go('repository/nope/f', { method: 'PUT', body: 'x' })).status).toBe(404);
  });
});

describe('Nexus double: Components API (docs/reference/nexus-api.md §2)', () => {
  it('204 for a valid raw upload, with the prefix stripped and assets at directory/filename', async () => {
    d = await startNexusDouble();
    const r = await go('service/rest/v1/components?repository=raw-hosted', { method: 'POST', body: form([['raw.directory', '/d/'], ['raw.asset1', new Blob(['hello'])], ['raw.asset1.filename', 'h.txt']]) });
    expect(r.status).toBe(204);
    expect((await d.storage.read('raw-hosted', 'd/h.txt'))!.toString()).toBe('hello');
    const found = await (await go('service/rest/v1/search/assets?repository=raw-hosted&name=d/h.txt')).json();
    expect(found.items.map((a: { path: string }) => a.path)).toEqual(['d/h.txt']);
  });

  it('answers the reference\'s errors: 422, 404, non-multipart 400, proxy 400, unsupported format 400, validation arrays', async () => {
    d = await startNexusDouble({ repositories: [{ name: 'raw-hosted', format: 'raw' }, { name: 'raw-proxy', format: 'raw', type: 'proxy' }, { name: 'docker-hosted', format: 'docker' }] });
    const ok = form([['raw.directory', 'd'], ['raw.asset1', new Blob(['x'])], ['raw.asset1.filename', 'f']]);
    expect((await go('service/rest/v1/components', { method: 'POST', body: ok })).status).toBe(422);
    const missing = await go('service/rest/v1/components?repository=nope', { method: 'POST', body: ok });
    expect([missing.status, await missing.json()]).toEqual([404, 'Unable to locate repository with id nope']);
    const plain = await go('service/rest/v1/components?repository=raw-hosted', { method: 'POST', body: 'x', headers: { 'content-type': 'application/octet-stream' } });
    expect([plain.status, await plain.json()]).toEqual([400, 'Expected multipart Content-Type']);
    const proxy = await go('service/rest/v1/components?repository=raw-proxy', { method: 'POST', body: ok });
    expect(await proxy.json()).toEqual([{ id: '*', message: "Uploading components to a 'proxy' type repository is unsupported, must be 'hosted'" }]);
    const docker = await go('service/rest/v1/components?repository=docker-hosted', { method: 'POST', body: ok });
    expect(await docker.json()).toEqual([{ id: '*', message: "Uploading components to 'docker' repositories is unsupported" }]);
    const bad = await go('service/rest/v1/components?repository=raw-hosted', { method: 'POST', body: form([['raw.file', new Blob(['x'])], ['raw.asset1.filename', 'f']]) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual(expect.arrayContaining([{ id: 'file', message: "Unknown field 'file'" }, { id: '*', message: 'No assets found in upload' }]));
    expect(d.storage.list()).toEqual([]);
  });

  it('a user without write permission gets the 400 "Not authorized for requested path" quirk', async () => {
    d = await startNexusDouble({ users: [{ ...DEFAULT_USER, write: [] }] });
    const r = await go('service/rest/v1/components?repository=raw-hosted', { method: 'POST', body: form([['raw.directory', 'd'], ['raw.asset1', new Blob(['x'])], ['raw.asset1.filename', 'f']]) });
    expect([r.status, await r.json()]).toEqual([400, [{ id: '*', message: "Not authorized for requested path 'd/f'" }]]);
  });
});

describe('Nexus double: recording and faults', () => {
  it('records method, path, user and status; faults answer the next N matching requests', async () => {
    d = await startNexusDouble();
    d.fail({ method: 'GET', path: /^\/service\/rest\/v1\/status/, times: 2, status: 503 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await go('service/rest/v1/status')).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(d.requests.map((r) => [r.method, r.path, r.user, r.status, Boolean(r.fault)])).toEqual([
      ['GET', '/service/rest/v1/status', undefined, 503, true],
      ['GET', '/service/rest/v1/status', undefined, 503, true],
      ['GET', '/service/rest/v1/status', 'airgap', 200, false],
    ]);
  });
});
