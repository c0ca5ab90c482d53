import {
  type EndpointFormat, type EndpointResolver, type NexusTargetConfig, type RegistriesTargetConfig, type ResolvedTarget,
  type TargetDriver, InternalError, UsageError,
} from '@airgap/core';
import { type NexusApi, createNexusApi } from './api.js';
import { nexusEndpoints, registriesTargetEndpoints, targetAuth } from './endpoints.js';
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

/** `type: nexus` (docs/config.md): endpoints from url + repositories, the REST API, and preflight before the first push. */
export const nexusDriver: TargetDriver = {
  type: 'nexus',
  check(target, formats, ctx) {
    const cfg = target.config as NexusTargetConfig;
    requireMapped(target, nexusEndpoints(target.name, cfg, ctx.config, targetAuth(target.name, cfg, ctx.env)), formats, 'repositories');
  },
  async open(target, ctx) {
    const cfg = target.config as NexusTargetConfig;
    if (cfg.type !== 'nexus') throw new InternalError(`nexus driver opened for a ${cfg.type} target (${target.name})`);
    const auth = targetAuth(target.name, cfg, ctx.env);
    const endpoints = nexusEndpoints(target.name, cfg, ctx.config, auth);
    requireMapped(target, endpoints, ctx.formats, 'repositories');
    const nexus = createNexusApi({ url: cfg.url, http: ctx.http, auth, target: { name: target.name, config: cfg } });
    // Formats sent to another server through `endpoints` alone are not Nexus repositories: nothing to ask.
    const needs: RepositoryNeed[] = [...ctx.formats]
      .filter((f) => cfg.repositories?.[f])
      .map((f) => ({ format: f, repository: cfg.repositories![f]! }));
    if (needs.length) {
      await preflight(nexus, needs, target.name, ctx.log);
      ctx.log.info(`target ${target.name}: preflight passed (${needs.map((n) => `${n.format} → ${n.repository}`).join(', ')})`);
    }
    const services: EndpointServices = { endpoints, nexus };
    return { services };
  },
};

/** `type: registries` (docs/config.md): standard-protocol servers only, no Nexus REST API. */
export const registriesDriver: TargetDriver = {
  type: 'registries',
  check(target, formats, ctx) {
    const cfg = target.config as RegistriesTargetConfig;
    requireMapped(target, registriesTargetEndpoints(target.name, cfg, ctx.config, targetAuth(target.name, cfg, ctx.env)), formats, 'endpoints');
  },
  async open(target, ctx) {
    const cfg = target.config as RegistriesTargetConfig;
    if (cfg.type !== 'registries') throw new InternalError(`registries driver opened for a ${cfg.type} target (${target.name})`);
    const auth = targetAuth(target.name, cfg, ctx.env);
    const endpoints = registriesTargetEndpoints(target.name, cfg, ctx.config, auth);
    requireMapped(target, endpoints, ctx.formats, 'endpoints');
    const services: EndpointServices = { endpoints };
    return { services };
  },
};
