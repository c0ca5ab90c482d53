import { describe, expect, it } from 'vitest';
import { HttpClient, UsageError, silentLogger } from '@airgap/core';
import { credentialsFromConfig, sourceClient } from './clients.js';

describe('sourceClient: where an upstream registry is spoken to (docs/config.md)', () => {
  const ctx = (registries = {}) => ({ http: new HttpClient({ proxy: 'none' }), config: { registries }, log: silentLogger });

  it('HTTPS for any non-loopback host; Docker Hub at its API host', () => {
    expect(sourceClient('registry.corp:5000', ctx()).base.toString()).toBe('https://registry.corp:5000/');
    expect(sourceClient('docker.io', ctx()).base.toString()).toBe('https://registry-1.docker.io/');
  });

  it('plain HTTP only when the host is marked plainHttp', () => {
    expect(sourceClient('registry.corp:5000', ctx({ 'registry.corp:5000': { plainHttp: true } })).base.toString()).toBe('http://registry.corp:5000/');
    expect(sourceClient('registry.corp:5000', ctx({ 'registry.corp': { plainHttp: true } })).base.toString()).toBe('https://registry.corp:5000/');
  });
});

describe('credentialsFromConfig', () => {
  it('reads the named environment variables into Basic auth, and lists the secrets to scrub', () => {
    const c = credentialsFromConfig({ registries: { 'ghcr.io': { usernameEnv: 'U', passwordEnv: 'P' } } }, 'ghcr.io', { U: 'me', P: 'secret' });
    expect(c.basic).toBe('Basic ' + Buffer.from('me:secret').toString('base64'));
    expect(c.secrets).toContain('secret');
  });
  it('matches Docker Hub under any of its names', () => {
    const c = credentialsFromConfig({ registries: { 'index.docker.io': { tokenEnv: 'T' } } }, 'docker.io', { T: 'tok' });
    expect(c.token).toBe('tok');
  });
  it('an unset variable is a usage error naming it', () => {
    expect(() => credentialsFromConfig({ registries: { 'ghcr.io': { usernameEnv: 'U', passwordEnv: 'NOPE' } } }, 'ghcr.io', { U: 'me' })).toThrow(UsageError);
    expect(() => credentialsFromConfig({ registries: { 'ghcr.io': { usernameEnv: 'U', passwordEnv: 'NOPE' } } }, 'ghcr.io', { U: 'me' })).toThrow(/NOPE/);
  });
  it('no entry: anonymous', () => {
    expect(credentialsFromConfig({}, 'ghcr.io', {})).toEqual({});
  });
});
