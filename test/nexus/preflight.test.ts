import { afterEach, describe, expect, it } from 'vitest';
import { TargetError, UsageError, silentLogger } from '@airgap/core';
import { registriesDriver } from '@airgap/nexus';
import { startStaticServer, tempDir } from '../harness/index.js';
import { DEFAULT_REPOSITORIES, DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { PASSWORD_ENV, USER_ENV, fastHttp, goodEnv, nexusTarget, openNexus } from './support.js';

let double: NexusDouble;
afterEach(async () => {
  await double?.close();
});

async function openError(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the target to refuse to open');
}

describe('nexus target preflight (issue 4)', () => {
  it('passes for hosted repositories of the right format and gives endpoints and the REST API', async () => {
    double = await startNexusDouble();
    const { opened } = await openNexus(double, { formats: ['raw', 'npm'] });
    const services = opened.services as { endpoints: { endpoint(f: string): { url: string; repository?: string; nexus: boolean } }; nexus: { url: string } };
    expect(services.endpoints.endpoint('raw')).toMatchObject({ url: `${double.url}repository/raw-hosted/`, repository: 'raw-hosted', nexus: true });
    expect(services.endpoints.endpoint('npm').url).toBe(`${double.url}repository/npm-hosted/`);
    expect(services.nexus.url).toBe(double.url);
    const asked = double.requests.map((r) => `${r.method} ${r.path}`);
    expect(asked).toContain('GET /service/rest/v1/status/writable');
    expect(asked).toContain('GET /service/rest/v1/repositories');
    expect(double.writes()).toEqual([]);
    // Basic auth was sent pre-emptively (docs/reference/nexus-api.md §1)
    expect(double.requests.find((r) => r.path === '/service/rest/v1/repositories')?.user).toBe(DEFAULT_USER.username);
  });

  it('lists every problem on its own line and sends nothing: missing, proxy, wrong format, DENY, read-only', async () => {
    double = await startNexusDouble({
      repositories: [
        { name: 'raw-hosted', format: 'raw', type: 'hosted', writePolicy: 'DENY' },
        { name: 'npm-hosted', format: 'npm', type: 'proxy' },
        { name: 'pypi-hosted', format: 'raw', type: 'hosted' },
        { name: 'helm-group', format: 'helm', type: 'group' },
      ],
      users: [{ ...DEFAULT_USER, admin: true }],
    });
    double.writable = false;
    const target = nexusTarget(double, { repositories: { raw: 'raw-hosted', npm: 'npm-hosted', pypi: 'pypi-hosted', helm: 'helm-group', yum: 'yum-hosted' } });
    const e = await openError(openNexus(double, { target, formats: ['raw', 'npm', 'pypi', 'helm', 'yum'] }));
    expect(e).toBeInstanceOf(TargetError);
    expect((e as TargetError).exitCode).toBe(1);
    const lines = e.message.split('\n').slice(1).map((l) => l.trim());
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/Nexus is read-only .*status\/writable answered 503/),
      'npm-hosted: is a proxy repository; airgap publishes to hosted repositories',
      expect.stringMatching(/^pypi-hosted: is a raw repository, but the bundle's pypi artifacts need a pypi repository$/),
      'helm-group: is a group repository; airgap publishes to hosted repositories',
      expect.stringMatching(/^yum-hosted: no such repository/),
      expect.stringMatching(/^raw-hosted: write policy is DENY/),
    ]));
    expect(lines).toHaveLength(6);
    expect(double.writes()).toEqual([]);
  });

  it('checks only the repositories of formats the bundle holds', async () => {
    double = await startNexusDouble({ repositories: [{ name: 'raw-hosted', format: 'raw' }] });
    // npm-hosted etc. do not exist, but the bundle only holds files
    await expect(openNexus(double, { formats: ['raw'] })).resolves.toBeDefined();
  });

  it('refuses a format the bundle holds but the target does not map, before any request', async () => {
    double = await startNexusDouble();
    const target = nexusTarget(double, { repositories: { raw: 'raw-hosted' } });
    const e = await openError(openNexus(double, { target, formats: ['raw', 'apt'] }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toMatch(/maps no repository for apt/);
    expect(double.requests).toEqual([]);
  });

  it('an endpoints override alone is not a Nexus repository: no REST check for it', async () => {
    double = await startNexusDouble({ repositories: [{ name: 'raw-hosted', format: 'raw' }] });
    const target = nexusTarget(double, { repositories: { raw: 'raw-hosted' }, endpoints: { docker: 'http://127.0.0.1:5999/' } });
    const { opened } = await openNexus(double, { target, formats: ['raw', 'docker'] });
    const ep = (opened.services as { endpoints: { endpoint(f: string): { url: string; nexus: boolean; repository?: string } } }).endpoints.endpoint('docker');
    expect(ep).toMatchObject({ url: 'http://127.0.0.1:5999/', nexus: false, repository: undefined });
  });

  it('401 names the credential variables and never shows the password', async () => {
    double = await startNexusDouble();
    const wrong = 'Wr0ng-Pa55word-xyz';
    const e = await openError(openNexus(double, { env: { [USER_ENV]: 'airgap', [PASSWORD_ENV]: wrong } }));
    expect(e).toBeInstanceOf(TargetError);
    const text = `${e.message} ${(e as TargetError).hint} ${(e as TargetError).subject}`;
    expect(text).toMatch(/HTTP 401/);
    expect(text).toContain(PASSWORD_ENV);
    expect(text).toContain(USER_ENV);
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(Buffer.from(`airgap:${wrong}`).toString('base64'));
    expect(double.requests.at(-1)?.status).toBe(401);
  });

  it('an unset credential variable is a usage error naming it', async () => {
    double = await startNexusDouble();
    const e = await openError(openNexus(double, { env: { [USER_ENV]: 'airgap' } }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain(PASSWORD_ENV);
    expect(double.requests).toEqual([]);
  });

  it('refuses plain HTTP to a non-loopback host unless registries.<host>.plainHttp', async () => {
    double = await startNexusDouble();
    const target = nexusTarget(double, { url: 'http://nexus.corp.internal:8081/' });
    const e = await openError(openNexus(double, { target }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toMatch(/plain HTTP to nexus\.corp\.internal:8081 is refused/);
  });

  it('a URL that is not Nexus (no REST API) says so', async () => {
    double = await startNexusDouble();
    const web = await startStaticServer(await tempDir('airgap-not-nexus-'));
    try {
      const e = await openError(openNexus(double, { target: nexusTarget(double, { url: web.url }) }));
      expect(e).toBeInstanceOf(TargetError);
      expect(e.message).toBe(`GET ${web.url}service/rest/v1/status/writable: HTTP 404 — no Nexus REST API at this URL`);
      expect((e as TargetError).hint).toMatch(/Nexus base URL/);
    } finally {
      await web.close();
    }
  });

  it('connection refused names the URL', async () => {
    double = await startNexusDouble();
    const url = double.url;
    await double.close();
    const target = nexusTarget(double, { url });
    const e = await openError(openNexus(double, { target, http: fastHttp({ retries: 0 }) }));
    expect(e).toBeInstanceOf(TargetError);
    expect(e.message).toContain(`${url}service/rest/v1/status/writable`);
    expect(e.message).toMatch(/connection refused/);
    double = await startNexusDouble(); // for afterEach
  });
});

describe('registries target', () => {
  it('gives only the configured endpoints and refuses an unmapped format', async () => {
    double = await startNexusDouble();
    const config = { type: 'registries' as const, endpoints: { npm: 'http://127.0.0.1:4873' } };
    const ctx = { http: fastHttp(), config: {}, log: silentLogger, dryRun: false, env: goodEnv };
    const opened = await registriesDriver.open({ type: 'registries', name: 'plain', config }, { ...ctx, formats: new Set(['npm'] as const) });
    const services = opened.services as { endpoints: { endpoint(f: string): { url: string; nexus: boolean } }; nexus?: unknown };
    expect(services.endpoints.endpoint('npm')).toMatchObject({ url: 'http://127.0.0.1:4873/', nexus: false });
    expect(services.nexus).toBeUndefined();
    const e = await openError(registriesDriver.open({ type: 'registries', name: 'plain', config }, { ...ctx, formats: new Set(['npm', 'raw'] as const) }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toMatch(/raw: add endpoints\.raw/);
  });
});

it('DEFAULT_REPOSITORIES has one hosted repository per format', () => {
  expect(DEFAULT_REPOSITORIES.map((r) => r.name).sort()).toEqual(['apt-hosted', 'docker-hosted', 'helm-hosted', 'npm-hosted', 'pypi-hosted', 'raw-hosted', 'yum-hosted']);
});
