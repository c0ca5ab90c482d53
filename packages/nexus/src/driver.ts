import {
  type AirgapConfig, type EndpointFormat, type EndpointResolver, type NexusTargetConfig, type RegistriesTargetConfig, type ResolvedTarget,
  type TargetDriver, type TargetOpenContext, InternalError, UsageError,
} from '@airgap/core';
import { type NexusApi, createNexusApi } from './api.js';
import { type TargetAuth, nexusEndpoints, registriesTargetEndpoints, targetAuth } from './endpoints.js';
import { type RepositoryNeed, preflight } from './preflight.js';

/** What a nexus or registries target gives the publish halves (`ctx.services`). */
export interface EndpointServices {
  endpoints: EndpointResolver;
  /** Only for `type: nexus`. */
  nexus?: NexusApi;
  [service: string]: unknown;
}

// docs/config.md: a format the bundle holds but the target does not map is an error before anything is pushed.
function requireMapped(target: ResolvedTarget, endpoints: EndpointResolver, formats: Set<EndpointFormat>, key: string): void {
  const missing = [...formats].filter((f) => !endpoints.has(f)).sort();
  if (!missing.length) return;
  throw new UsageError(`target ${target.name} maps no repository for ${missing.join(', ')}, which the bundle holds; nothing was sent:\n${missing.map((f) => `  ${f}: add ${key}.${f}`).join('\n')}`, {
    subject: `targets.${target.name}`,
    hint: `map every format the bundle holds (docs/config.md), or unpack to another target`,
  });
}

type EndpointTargetConfig = NexusTargetConfig | RegistriesTargetConfig;
type EndpointsOf<C> = (name: string, cfg: C, config: AirgapConfig, auth: TargetAuth) => EndpointResolver;

/**
 * A target reached through endpoints per format (nexus, registries): `check` and `open` resolve the same
 * endpoints and refuse a format the bundle holds that the target does not map (docs/config.md); `more`
 * adds what only that type has (Nexus: its REST API, after preflight).
 */
function endpointTargetDriver<C extends EndpointTargetConfig>(
  type: C['type'],
  mapKey: string,
  endpointsOf: EndpointsOf<C>,
  more?: (target: ResolvedTarget, cfg: C, auth: TargetAuth, ctx: TargetOpenContext) => Promise<Partial<EndpointServices>>,
): TargetDriver {
  const resolve = (target: ResolvedTarget, config: AirgapConfig, env: NodeJS.ProcessEnv) => {
    const cfg = target.config as C;
    if (cfg.type !== type) throw new InternalError(`${type} driver opened for a ${cfg.type} target (${target.name})`);
    const auth = targetAuth(target.name, cfg, env);
    return { cfg, auth, endpoints: endpointsOf(target.name, cfg, config, auth) };
  };
  return {
    type,
    check(target, formats, ctx) {
      requireMapped(target, resolve(target, ctx.config, ctx.env).endpoints, formats, mapKey);
    },
    async open(target, ctx) {
      const { cfg, auth, endpoints } = resolve(target, ctx.config, ctx.env);
      requireMapped(target, endpoints, ctx.formats, mapKey);
      const services: EndpointServices = { endpoints, ...(await more?.(target, cfg, auth, ctx)) };
      return { services };
    },
  };
}

/** `type: nexus` (docs/config.md): endpoints from url + repositories, the REST API, and preflight before the first push. */
export const nexusDriver: TargetDriver = endpointTargetDriver<NexusTargetConfig>('nexus', 'repositories', nexusEndpoints, async (target, cfg, auth, ctx) => {
  const nexus = createNexusApi({ url: cfg.url, http: ctx.http, auth, target: { name: target.name, config: cfg } });
  // Formats sent to another server through `endpoints` alone are not Nexus repositories: nothing to ask.
  const needs: RepositoryNeed[] = [...ctx.formats]
    .filter((f) => cfg.repositories?.[f])
    .map((f) => ({ format: f, repository: cfg.repositories![f]! }));
  if (needs.length) {
    // One transfer of the run's limit (docs/transfers.md): its REST calls are sent one after another.
    const check = () => preflight(nexus, needs, target.name, ctx.log);
    await (ctx.transfer ? ctx.transfer.run(check) : check());
    ctx.log.info(`target ${target.name}: preflight passed (${needs.map((n) => `${n.format} → ${n.repository}`).join(', ')})`);
  }
  return { nexus };
});

/** `type: registries` (docs/config.md): standard-protocol servers only, no Nexus REST API. */
export const registriesDriver: TargetDriver = endpointTargetDriver<RegistriesTargetConfig>('registries', 'endpoints', registriesTargetEndpoints);
