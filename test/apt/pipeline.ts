import { withTransfer } from '../harness/index.js';
import { join } from 'node:path';
import {
  type Artifact, type AirgapConfig, type PublishContext, type PublishHalf, type SourceContext, ContentStore,
  HttpClient, silentLogger,
} from '@airgap/core';
import { apt, type AptSpec } from '@airgap/apt';

/**
 * The pack and unpack steps of the pipelines (COMMON: resolve → fetch → every blob in the store;
 * exists → publish → finalize) driven at library level, with real stores, HTTP and tools.
 */
export function sourceContext(cache: string, manifestDir: string, dryRun = false): SourceContext {
  return withTransfer({
    store: new ContentStore(cache), http: new HttpClient({ retries: 0 }), config: {}, log: silentLogger, progress: () => {},
    manifestDir, concurrency: 2, dryRun,
  });
}

export async function pack(spec: AptSpec, ctx: SourceContext): Promise<Artifact[]> {
  const artifacts = await apt.source.resolve(spec, ctx);
  for (const a of artifacts) await apt.source.fetch(a, ctx);
  for (const a of artifacts) for (const b of a.blobs) if (!(await ctx.store.has(b.digest))) throw new Error(`blob ${b.digest} of ${a.name} not in store`);
  return artifacts;
}

export interface UnpackResult {
  actions: Record<string, 'pushed' | 'present'>;
}

export async function unpack(artifacts: Artifact[], half: PublishHalf, ctx: PublishContext): Promise<UnpackResult> {
  const actions: UnpackResult['actions'] = {};
  for (const a of artifacts) {
    const id = `${a.name}_${a.version}_${a.platform}`;
    if ((await half.exists(a, ctx)) === 'present') actions[id] = 'present';
    else {
      await half.publish(a, ctx);
      actions[id] = 'pushed';
    }
  }
  await half.finalize?.(artifacts, ctx);
  return { actions };
}

export function publishContext(store: ContentStore, target: PublishContext['target'], services: Record<string, unknown> = {}, config: AirgapConfig = {}): PublishContext {
  return withTransfer({
    target, blobs: { open: (d) => store.open(d.digest) }, http: new HttpClient({ retries: 0 }), config, log: silentLogger, progress: () => {},
    bundle: { name: 'test', created: '2026-11-24T10:00:00Z' }, dryRun: false, services,
  });
}

export const mirrorKeyringPath = (mirror: string) => join(mirror, 'apt', 'airgap-archive-keyring.gpg');
