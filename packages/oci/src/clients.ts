import {
  type AirgapConfig, type Endpoint, type HttpClient, type Logger, type RegistryCredentials as ConfigCredentials, UsageError,
} from '@airgap/core';
import { RegistryClient, type RegistryCredentials } from './registry.js';
import { apiHost, isLoopbackHost } from './reference.js';

const cache = new WeakMap<HttpClient, Map<string, RegistryClient>>();

function cached(http: HttpClient, key: string, make: () => RegistryClient): RegistryClient {
  let m = cache.get(http);
  if (!m) cache.set(http, (m = new Map()));
  let c = m.get(key);
  if (!c) m.set(key, (c = make()));
  return c;
}

/** Hosts marked `registries.<host:port>.plainHttp: true` (docs/config.md). */
export function plainHttpHosts(config: AirgapConfig): Set<string> {
  return new Set(Object.entries(config.registries ?? {}).filter(([, v]) => v?.plainHttp).map(([k]) => k));
}

function registryEntry(config: AirgapConfig, registry: string): [string, ConfigCredentials] | undefined {
  const regs = config.registries ?? {};
  // Docker Hub is known by several names; the config may use any of them.
  const names = registry === 'docker.io' ? ['docker.io', 'registry-1.docker.io', 'index.docker.io'] : [registry];
  for (const n of names) if (regs[n]) return [n, regs[n]];
  return undefined;
}

/** Credentials from `registries.<host>`: names of environment variables, never values (docs/manifest.md, §4). */
export function credentialsFromConfig(config: AirgapConfig, registry: string, env: NodeJS.ProcessEnv = process.env): RegistryCredentials {
  const entry = registryEntry(config, registry);
  if (!entry) return {};
  const [key, c] = entry;
  const need = (v: string | undefined): string | undefined => {
    if (!v) return undefined;
    const val = env[v];
    if (val === undefined) {
      throw new UsageError(`registries."${key}": environment variable ${v} is not set`, {
        subject: `registries.${key}`,
        hint: `export ${v} with the credential for ${key}`,
      });
    }
    return val;
  };
  const token = need(c.tokenEnv);
  const user = need(c.usernameEnv);
  const pass = need(c.passwordEnv);
  const out: RegistryCredentials = { secrets: [pass, token].filter((s): s is string => Boolean(s)) };
  if (token) out.token = token;
  if (user !== undefined || pass !== undefined) out.basic = 'Basic ' + Buffer.from(`${user ?? ''}:${pass ?? ''}`).toString('base64');
  return out;
}

/**
 * The client for an upstream registry named in an image ref. HTTPS; plain HTTP for hosts marked
 * `plainHttp`, and for loopback hosts that do not speak TLS (docs/config.md). Docker Hub is spoken to at its API host.
 */
export function sourceClient(registry: string, ctx: { http: HttpClient; config: AirgapConfig; log: Logger }): RegistryClient {
  return cached(ctx.http, 'source:' + registry, () => {
    const plain = plainHttpHosts(ctx.config);
    const host = apiHost(registry);
    return new RegistryClient({
      base: plain.has(registry) ? `http://${host}/` : `https://${host}/`,
      // Loopback: HTTPS first, then plain HTTP, as Docker does (docs/config.md).
      plainFallback: isLoopbackHost(registry) && !plain.has(registry) ? `http://${host}/` : undefined,
      http: ctx.http,
      credentials: credentialsFromConfig(ctx.config, registry),
      side: 'upstream',
      plainHttpHosts: plain,
      log: ctx.log,
    });
  });
}

/** The client for a target's docker endpoint; plain HTTP only to loopback or `plainHttp` hosts (docs/config.md). */
export function targetClient(endpoint: Endpoint, ctx: { http: HttpClient; config: AirgapConfig; log: Logger }): RegistryClient {
  return cached(ctx.http, 'target:' + endpoint.url, () => {
    const url = new URL(endpoint.url);
    const plain = plainHttpHosts(ctx.config);
    if (url.protocol === 'http:' && !isLoopbackHost(url.host) && !plain.has(url.host)) {
      throw new UsageError(`docker endpoint ${endpoint.url} is plain HTTP`, {
        subject: endpoint.url,
        hint: `use https://, or mark the host trusted for plain HTTP with registries."${url.host}".plainHttp: true (docs/config.md)`,
      });
    }
    const auth = endpoint.headers().authorization;
    return new RegistryClient({
      base: endpoint.url,
      http: ctx.http,
      credentials: { basic: auth, secrets: endpoint.secrets() },
      side: 'target',
      plainHttpHosts: plain,
      log: ctx.log,
    });
  });
}
