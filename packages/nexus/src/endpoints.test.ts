import { describe, expect, it } from 'vitest';
import { UsageError } from '@airgap/core';
import { checkTransport, nexusEndpoints } from './endpoints.js';

const auth = { headers: { authorization: 'Basic eDp5' }, secrets: ['y', 'eDp5'] };

describe('nexus endpoints (docs/config.md)', () => {
  it('derives <url>/repository/<repo>/ per format and lets endpoints override one', () => {
    const ep = nexusEndpoints('nexus', {
      type: 'nexus', url: 'https://nexus.corp.internal/nexus', repositories: { raw: 'raw hosted', docker: 'docker-hosted' },
      endpoints: { docker: 'https://nexus.corp.internal:8443' },
    }, {}, auth);
    expect(ep.endpoint('raw')).toMatchObject({ url: 'https://nexus.corp.internal/nexus/repository/raw%20hosted/', repository: 'raw hosted', nexus: true });
    // a connector port is still the docker-hosted repository of this Nexus
    expect(ep.endpoint('docker')).toMatchObject({ url: 'https://nexus.corp.internal:8443/', repository: 'docker-hosted', nexus: true });
    expect(ep.endpoint('raw').headers()).toEqual(auth.headers);
    expect(ep.has('npm')).toBe(false);
    expect(() => ep.endpoint('npm')).toThrow(UsageError);
  });

  it('allows plain HTTP only to loopback or hosts marked plainHttp', () => {
    expect(checkTransport('http://127.0.0.2:8081', 'x', {}).host).toBe('127.0.0.2:8081');
    expect(checkTransport('http://[::1]:8081', 'x', {}).port).toBe('8081');
    expect(checkTransport('http://nexus.lan:8081', 'x', { registries: { 'nexus.lan:8081': { plainHttp: true } } }).hostname).toBe('nexus.lan');
    expect(() => checkTransport('http://nexus.lan:8081', 'x', {})).toThrow(/plain HTTP to nexus\.lan:8081 is refused/);
    expect(() => checkTransport('https://u:p@nexus.lan', 'x', {})).toThrow(/carries credentials/);
    expect(() => checkTransport('http://u:p@127.0.0.1', 'x', {})).toThrow(/carries credentials/);
    expect(() => checkTransport('ftp://nexus.lan', 'x', {})).toThrow(UsageError);
  });
});
