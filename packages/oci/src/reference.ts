import { UsageError, isDigest } from '@airgap/core';

/** A fully normalised image reference (distribution/reference `ParseNormalizedNamed` rules). */
export interface ImageRef {
  /** Registry as named in the reference: `docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path without the registry: `library/nginx`. */
  repository: string;
  tag?: string;
  digest?: string;
}

const DOCKER_HUB = 'docker.io';
// Path components of a repository name (distribution-spec: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`).
export const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * Parse `nginx`, `nginx:1.27`, `ghcr.io/org/app@sha256:…`, `127.0.0.1:5000/x:1@sha256:…`.
 * Short names map to Docker Hub (`nginx` → `docker.io/library/nginx:latest`) as Docker does
 * (docs/reference/repo-formats.md §1 [REF]); without tag and digest the tag is `latest`.
 */
export function parseImageRef(input: string): ImageRef {
  const bad = (why: string): never => {
    throw new UsageError(`image ref ${JSON.stringify(input)}: ${why}`, {
      subject: input,
      hint: 'write it as [registry/]repository[:tag][@sha256:<64 hex>], e.g. docker.io/library/nginx:1.27',
    });
  };
  let rest = input.trim();
  if (!rest) bad('empty');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) bad(`digest ${JSON.stringify(digest)} is not sha256:<64 lowercase hex>`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(`tag ${JSON.stringify(tag)} is not a valid tag`);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  let registry: string;
  let repository: string;
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    registry = first.toLowerCase();
    repository = rest.slice(slash + 1);
  } else {
    registry = DOCKER_HUB;
    repository = rest;
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (!repository || !repository.split('/').every((c) => COMPONENT.test(c))) {
    bad(`repository ${JSON.stringify(repository)} must be lowercase path components ([a-z0-9] with . _ - separators)`);
  }
  if (!tag && !digest) tag = 'latest';
  return { registry, repository, tag, digest };
}

/** `docker.io/library/nginx:1.27@sha256:…` */
export function formatRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? ':' + ref.tag : ''}${ref.digest ? '@' + ref.digest : ''}`;
}

/** The host the registry API is spoken to: Docker Hub's API host differs from its name (docs/reference/repo-formats.md §1 [REF]). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/** Loopback hosts may be spoken to over plain HTTP (docs/config.md, as Docker does). */
export function isLoopbackHost(host: string): boolean {
  const h = hostOnly(host);
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** `host:port` → `host`, `[::1]:5000` → `::1`. */
export function hostOnly(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const i = host.lastIndexOf(':');
  return i >= 0 && host.indexOf(':') === i ? host.slice(0, i) : host;
}

export type ImageNames = 'keep-host' | 'strip-host';

/**
 * The repository an image gets at a registry target (docs/config.md): the upstream host is kept as the first
 * path segment (`:port` written `_port`, as a path component cannot hold `:`), unless `strip-host`.
 */
export function targetRepository(registry: string, repository: string, mode: ImageNames = 'keep-host'): string {
  if (mode === 'strip-host') return repository;
  const host = registry.replace(/^\[|\]/g, '').replace(/:/g, '_').toLowerCase();
  return `${host}/${repository}`;
}
