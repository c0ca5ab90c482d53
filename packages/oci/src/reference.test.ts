import { describe, expect, it } from 'vitest';
import { UsageError } from '@airgap/core';
import { apiHost, formatRef, isLoopbackHost, parseImageRef, targetRepository } from './reference.js';

describe('parseImageRef (Docker normalisation)', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['bitnami/redis:7', 'docker.io/bitnami/redis:7'],
    ['docker.io/library/nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['index.docker.io/library/nginx', 'docker.io/library/nginx:latest'],
    ['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.10'],
    ['localhost/app', 'localhost/app:latest'],
    ['127.0.0.1:5000/team/app:v1', '127.0.0.1:5000/team/app:v1'],
    [`ghcr.io/o/a@sha256:${'a'.repeat(64)}`, `ghcr.io/o/a@sha256:${'a'.repeat(64)}`],
    [`ghcr.io/o/a:1@sha256:${'b'.repeat(64)}`, `ghcr.io/o/a:1@sha256:${'b'.repeat(64)}`],
  ])('%s → %s', (input, want) => {
    expect(formatRef(parseImageRef(input))).toBe(want);
  });

  it.each(['', 'Nginx', 'nginx:', 'nginx@sha256:abc', 'a//b', 'nginx:-bad', `x@sha512:${'a'.repeat(128)}`])('refuses %j with a usage error', (input) => {
    expect(() => parseImageRef(input)).toThrow(UsageError);
  });

  it('speaks to Docker Hub at its API host', () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('ghcr.io')).toBe('ghcr.io');
  });
});

describe('names at the target (docs/config.md)', () => {
  it('keeps the host as the first segment, :port as _port', () => {
    expect(targetRepository('docker.io', 'library/nginx')).toBe('docker.io/library/nginx');
    expect(targetRepository('127.0.0.1:5000', 'team/app')).toBe('127.0.0.1_5000/team/app');
  });
  it('strip-host drops it', () => {
    expect(targetRepository('docker.io', 'library/nginx', 'strip-host')).toBe('library/nginx');
  });
});

describe('loopback hosts (plain HTTP allowed)', () => {
  it.each([['127.0.0.1:5000', true], ['127.1.2.3', true], ['localhost:80', true], ['[::1]:5000', true], ['10.0.0.1:5000', false], ['registry.corp', false], ['127.0.0.1.nip.io', false]])('%s → %s', (h, want) => {
    expect(isLoopbackHost(h)).toBe(want);
  });
});
