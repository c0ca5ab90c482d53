import { describe, expect, it } from 'vitest';
import { UpstreamError } from '@airgap/core';
import { type IndexEntry, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, parseManifest, parsePlatform } from './media.js';
import { parseChallenge } from './registry.js';
import { selectPlatforms } from './source.js';

const d = (n: number) => 'sha256:' + String(n).padStart(64, '0');
const entry = (n: number, os: string, architecture: string, variant?: string, annotations?: Record<string, string>): IndexEntry => ({
  mediaType: OCI_MANIFEST, digest: d(n), size: 100, platform: { os, architecture, ...(variant ? { variant } : {}) }, ...(annotations ? { annotations } : {}),
});

describe('selectPlatforms', () => {
  const entries = [
    entry(1, 'linux', 'amd64'),
    entry(2, 'linux', 'arm64', 'v8'),
    entry(3, 'linux', 'arm', 'v7'),
    entry(4, 'unknown', 'unknown', undefined, { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': d(2) }),
    entry(5, 'unknown', 'unknown', undefined, { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': d(1) }),
  ];
  it('keeps the first match per platform, in index order, any variant when none is asked', () => {
    expect(selectPlatforms(entries, [parsePlatform('linux/arm64'), parsePlatform('linux/amd64')], false, 'img').map((e) => e.digest)).toEqual([d(1), d(2)]);
  });
  it('matches a variant exactly when one is asked', () => {
    expect(() => selectPlatforms(entries, [parsePlatform('linux/arm/v6')], false, 'img')).toThrow(UpstreamError);
    expect(selectPlatforms(entries, [parsePlatform('linux/arm/v7')], false, 'img').map((e) => e.digest)).toEqual([d(3)]);
  });
  it('keeps attestation entries only when asked, and only those of kept platforms', () => {
    expect(selectPlatforms(entries, [parsePlatform('linux/arm64')], true, 'img').map((e) => e.digest)).toEqual([d(2), d(4)]);
  });
  it('never selects an attestation entry as a platform', () => {
    expect(() => selectPlatforms(entries, [parsePlatform('unknown/unknown')], false, 'img')).toThrow(/no unknown\/unknown image/);
  });
});

describe('parseManifest', () => {
  it('refuses a body whose mediaType disagrees with Content-Type', () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
    expect(() => parseManifest(body, DOCKER_MANIFEST)).toThrow(/served as/);
  });
  it('takes the type from Content-Type when the body has no mediaType (OCI manifests may omit it)', () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'x', digest: d(1), size: 2 }, layers: [] }));
    expect(parseManifest(body, OCI_MANIFEST + '; charset=utf-8').mediaType).toBe(OCI_MANIFEST);
  });
  it('refuses schema 1 and malformed descriptors', () => {
    expect(() => parseManifest(Buffer.from('{"schemaVersion":1}'), undefined)).toThrow(/schemaVersion 1/);
    expect(() => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: 'md5:x', size: 1, mediaType: 'x' } })), OCI_MANIFEST)).toThrow(/descriptor/);
  });
});

describe('parseChallenge', () => {
  it('reads realm, service and a scope holding commas', () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
    });
  });
  it('reads Basic and ignores other schemes', () => {
    expect(parseChallenge('Basic realm="Sonatype Nexus Repository Manager"')?.scheme).toBe('basic');
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
  });
});
