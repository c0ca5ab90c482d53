import {
  type AirgapConfig, type Endpoint, type EndpointFormat, type EndpointResolver, type NexusTargetConfig,
  type RegistriesTargetConfig, ENDPOINT_FORMATS, UsageError, basicAuthFromEnv, redact,
} from '@airgap/core';

/** The credentials of a target, read once from the environment variables its config names. */
export interface TargetAuth {
  headers: Record<string, string>;
  secrets: string[];
}

export function targetAuth(name: string, config: { usernameEnv?: string; passwordEnv?: string }, env: NodeJS.ProcessEnv): TargetAuth {
  // A Nexus user token (Pro) is a name code and a pass code sent exactly like a username and password
  // (docs/reference/nexus-api.md §1), so usernameEnv/passwordEnv carry either.
  return basicAuthFromEnv(config, env, `target ${name}`, { subject: `targets.${name}`, what: 'the credentials of the airgap user' });
}

/** `url` with exactly one trailing slash. */
export function withSlash(url: string): string {
  return url.replace(/\/+$/, '') + '/';
}

/**
 * docs/config.md: plain HTTP only to a loopback address, or to a host listed with `registries.<host:port>.plainHttp`.
 * Everything else must be HTTPS, so credentials never cross a network in clear text by accident.
 */
export function checkTransport(url: string, where: string, config: AirgapConfig): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${where}: ${JSON.stringify(redact(url))} is not a URL`, { subject: where, hint: 'write an absolute https:// URL' });
  }
  if (u.username || u.password) {
    // docs/manifest.md/§8: credentials are never written in config; they come from usernameEnv/passwordEnv.
    throw new UsageError(`${where}: the URL carries credentials`, { subject: where, hint: 'remove them from the URL and use usernameEnv/passwordEnv' });
  }
  if (u.protocol === 'https:') return u;
  if (u.protocol !== 'http:') throw new UsageError(`${where}: ${u.protocol} URLs are not supported`, { subject: where, hint: 'write an https:// URL' });
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (loopback || config.registries?.[u.host]?.plainHttp) return u;
  throw new UsageError(`${where}: plain HTTP to ${u.host} is refused`, {
    subject: where,
    hint: `use https://, or if this host really has no TLS, set registries."${u.host}".plainHttp: true in the config`,
  });
}

function endpointOf(format: EndpointFormat, url: string, repository: string | undefined, auth: TargetAuth): Endpoint {
  return {
    format,
    url: withSlash(url),
    repository,
    nexus: repository !== undefined,
    headers: () => ({ ...auth.headers }),
    secrets: () => [...auth.secrets],
  };
}

function unmapped(name: string, format: EndpointFormat, keys: string): UsageError {
  return new UsageError(`target ${name} maps no ${format} repository, but the bundle holds ${format} artifacts`, {
    subject: `targets.${name}`,
    hint: `add ${keys} to target ${name} (docs/config.md), or unpack to another target`,
  });
}

/**
 * Endpoints of a `nexus` target (docs/config.md): `<url>/repository/<repo>/` per format from `repositories`,
 * with `endpoints` overriding one format (a Docker connector port, or another server speaking that
 * format's standard protocol). An override that keeps a `repositories` entry is still that Nexus
 * repository (a connector port), so preflight and the REST API still apply to it.
 */
export function nexusEndpoints(name: string, target: NexusTargetConfig, config: AirgapConfig, auth: TargetAuth): EndpointResolver {
  const base = withSlash(checkTransport(target.url, `targets.${name}.url`, config).toString());
  const repos = target.repositories ?? {};
  const overrides = target.endpoints ?? {};
  for (const f of Object.keys(overrides) as EndpointFormat[]) checkTransport(overrides[f]!, `targets.${name}.endpoints.${f}`, config);
  return {
    has: (format) => Boolean(repos[format] || overrides[format]),
    endpoint(format) {
      const repo = repos[format];
      const override = overrides[format];
      if (override) return endpointOf(format, override, repo, auth);
      if (!repo) throw unmapped(name, format, `repositories.${format}`);
      return endpointOf(format, `${base}repository/${encodeURIComponent(repo)}/`, repo, auth);
    },
  };
}

/** Endpoints of a `registries` target: only `endpoints`, each a standard-protocol server (docs/config.md). */
export function registriesTargetEndpoints(name: string, target: RegistriesTargetConfig, config: AirgapConfig, auth: TargetAuth): EndpointResolver {
  const overrides = target.endpoints ?? {};
  for (const f of Object.keys(overrides) as EndpointFormat[]) {
    if (!ENDPOINT_FORMATS.includes(f)) throw new UsageError(`targets.${name}.endpoints: unknown format ${f}`, { subject: `targets.${name}.endpoints.${f}`, hint: `use one of ${ENDPOINT_FORMATS.join(', ')}` });
    checkTransport(overrides[f]!, `targets.${name}.endpoints.${f}`, config);
  }
  return {
    has: (format) => Boolean(overrides[format]),
    endpoint(format) {
      const url = overrides[format];
      if (!url) throw unmapped(name, format, `endpoints.${format}`);
      return endpointOf(format, url, undefined, auth);
    },
  };
}
