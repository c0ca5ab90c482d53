/**
 * The Nexus double's yum format (test/nexus-double/formats/yum.ts) answers as docs/reference/nexus-api.md §6
 * and §2 say; the yum publish tests rely on it. The client is Node's fetch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';

let d: NexusDouble;
afterEach(async () => {
  await d?.close();
});
const auth = { authorization: `Basic ${Buffer.from(`${DEFAULT_USER.username}:${DEFAULT_USER.password}`).toString('base64')}` };
const go = (path: string, init: RequestInit = {}) => fetch(new URL(path, d.url), { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
const rpm = Buffer.from('not really an rpm, but bytes');

describe('Nexus double: yum hosted (docs/reference/nexus-api.md §6)', () => {
  it('PUT at or below the repodata depth 200 and readable; shallower 400 in the status line; ALLOW_ONCE redeploy 400', async () => {
    d = await startNexusDouble({ repositories: [{ name: 'yum-hosted', format: 'yum', attributes: { yum: { repodataDepth: 1 } } }] });
    const ok = await go('repository/yum-hosted/el9/Packages/a-1-1.noarch.rpm', { method: 'PUT', body: rpm });
    expect(ok.status).toBe(200);
    const got = await go('repository/yum-hosted/el9/Packages/a-1-1.noarch.rpm');
    expect(Buffer.from(await got.arrayBuffer()).equals(rpm)).toBe(true);
    expect((await go('repository/yum-hosted/el9/Packages/a-1-1.noarch.rpm', { method: 'HEAD' })).status).toBe(200);
    const shallow = await go('repository/yum-hosted/b-1-1.noarch.rpm', { method: 'PUT', body: rpm });
    expect(shallow.status).toBe(400);
    expect(shallow.statusText).toMatch(/0 directories deep; the repository's repodata depth is 1/);
    const again = await go('repository/yum-hosted/el9/Packages/a-1-1.noarch.rpm', { method: 'PUT', body: rpm });
    expect(again.status).toBe(400);
    expect(again.statusText).toMatch(/cannot be updated/);
    expect(d.storage.list('yum-hosted').map((a) => [a.path, a.component.name])).toEqual([['el9/Packages/a-1-1.noarch.rpm', 'a']]);
  });

  it('STRICT takes only RPM and repodata paths; PERMISSIVE takes any; repository settings show the yum attributes to admins only', async () => {
    d = await startNexusDouble({
      repositories: [
        { name: 'strict', format: 'yum', attributes: { yum: { repodataDepth: 0, deployPolicy: 'STRICT' } } },
        { name: 'loose', format: 'yum', attributes: { yum: { repodataDepth: 0, deployPolicy: 'PERMISSIVE' } } },
      ],
      users: [DEFAULT_USER, { username: 'admin', password: 'admin-pass', admin: true }],
    });
    expect((await go('repository/strict/notes.txt', { method: 'PUT', body: 'x' })).status).toBe(400);
    expect((await go('repository/strict/repodata/comps.xml', { method: 'PUT', body: '<comps/>' })).status).toBe(200);
    expect((await go('repository/loose/notes.txt', { method: 'PUT', body: 'x' })).status).toBe(200);
    expect((await go('service/rest/v1/repositories/yum/hosted/strict')).status).toBe(403);
    const admin = await fetch(new URL('service/rest/v1/repositories/yum/hosted/strict', d.url), { headers: { authorization: `Basic ${Buffer.from('admin:admin-pass').toString('base64')}` } });
    expect(await admin.json()).toMatchObject({ name: 'strict', format: 'yum', yum: { repodataDepth: 0, deployPolicy: 'STRICT' } });
  });

  it('Components API: yum.asset, yum.asset.filename, yum.directory → 204 and stored; unknown fields are 400 arrays', async () => {
    d = await startNexusDouble();
    const f = new FormData();
    f.append('yum.directory', '/el9/Packages/');
    f.append('yum.asset', new Blob([rpm]), 'x.rpm');
    f.append('yum.asset.filename', 'c-2-1.x86_64.rpm');
    const r = await go('service/rest/v1/components?repository=yum-hosted', { method: 'POST', body: f });
    expect(r.status).toBe(204);
    expect((await d.storage.read('yum-hosted', 'el9/Packages/c-2-1.x86_64.rpm'))!.equals(rpm)).toBe(true);
    const bad = new FormData();
    bad.append('yum.colour', 'blue');
    bad.append('yum.asset', new Blob([rpm]), 'x.rpm');
    const r2 = await go('service/rest/v1/components?repository=yum-hosted', { method: 'POST', body: bad });
    expect(r2.status).toBe(400);
    expect(await r2.json()).toEqual(expect.arrayContaining([{ id: 'colour', message: "Unknown component field 'colour'" }, { id: 'asset.filename', message: "Missing required asset field 'Filename'" }]));
  });
});
