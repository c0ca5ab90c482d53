import { withTransfer } from '../harness/index.js';
import { join } from 'node:path';
import {
  type AirgapConfig, type Artifact, type PublishContext, type ResolvedTarget, type SourceContext, ContentStore, HttpClient,
  type ProgressSink, type RegistriesTargetConfig, silentLogger,
} from '@airgap/core';
import { registriesTargetEndpoints, targetAuth } from '@airgap/nexus';

export interface Warnings {
  warnings: string[];
}

export function sourceContext(storeDir: string, config: AirgapConfig = {}, concurrency = 4): SourceContext & Warnings {
  const warnings: string[] = [];
  const http = new HttpClient({ retries: 2, proxy: 'none', ...config.http });
  http.backoffMs = 10;
  return withTransfer({
    store: new ContentStore(storeDir),
    http,
    config,
    log: { ...silentLogger, warn: (m) => warnings.push(m) },
    progress: () => {},
    manifestDir: storeDir,
    concurrency,
    dryRun: false,
    warnings,
  });
}

/** A PublishContext over a content store (as unpack gives one over the verified bundle). */
export function publishContext(store: ContentStore, target: ResolvedTarget, config: AirgapConfig = {}, env: NodeJS.ProcessEnv = {}, progress: ProgressSink = () => {}): PublishContext & Warnings {
  const warnings: string[] = [];
  const http = new HttpClient({ retries: 2, proxy: 'none', ...config.http });
  http.backoffMs = 10;
  const services: Record<string, unknown> = target.type === 'dir' ? {} : { endpoints: registriesTargetEndpoints(target.name, target.config as RegistriesTargetConfig, config, targetAuth(target.name, target.config as RegistriesTargetConfig, env)) };
  return withTransfer({
    target,
    blobs: { open: (d) => store.open(d.digest) },
    http,
    config,
    log: { ...silentLogger, warn: (m) => warnings.push(m) },
    progress,
    bundle: { name: 'test', created: new Date().toISOString() },
    dryRun: false,
    services,
    warnings,
  });
}

export function registryTarget(registryHost: string, extra: Record<string, unknown> = {}): ResolvedTarget {
  return { type: 'registries', name: 'reg', config: { type: 'registries', endpoints: { docker: `http://${registryHost}/` }, ...extra } as never };
}

export function dirTarget(path: string): ResolvedTarget {
  return { type: 'dir', name: 'mirror', path, config: { type: 'dir', path } };
}

/** resolve + fetch, as pack does for one manifest entry. */
export async function pull(eco: { source: { resolve(s: any, c: SourceContext): Promise<Artifact[]>; fetch(a: Artifact, c: SourceContext): Promise<void> } }, spec: unknown, ctx: SourceContext): Promise<Artifact[]> {
  const arts = await eco.source.resolve(spec, ctx);
  for (const a of arts) await eco.source.fetch(a, ctx);
  return arts;
}

/** exists → publish, as unpack does; returns the action per artifact. */
export async function push(half: { exists(a: Artifact, c: PublishContext): Promise<string>; publish(a: Artifact, c: PublishContext): Promise<void>; finalize?(a: Artifact[], c: PublishContext): Promise<void> }, arts: Artifact[], ctx: PublishContext): Promise<string[]> {
  const actions: string[] = [];
  for (const a of arts) {
    if ((await half.exists(a, ctx)) === 'present') actions.push('present');
    else {
      await half.publish(a, ctx);
      actions.push('pushed');
    }
  }
  await half.finalize?.(arts, ctx);
  return actions;
}

export { join };
