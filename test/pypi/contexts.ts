import { withTransfer } from '../harness/index.js';
import { ContentStore, HttpClient, type PublishContext, type ResolvedTarget, type SourceContext, silentLogger } from '@airgap/core';

export function sourceContext(storeDir: string, overrides: Partial<SourceContext> = {}): SourceContext {
  const http = new HttpClient({ retries: 1, proxy: 'none' });
  http.backoffMs = 10;
  return withTransfer({
    store: new ContentStore(storeDir),
    http,
    config: {},
    log: silentLogger,
    progress: () => {},
    manifestDir: storeDir,
    concurrency: 2,
    dryRun: false,
    ...overrides,
  });
}

export function publishContext(store: ContentStore, target: ResolvedTarget, services: Record<string, unknown> = {}): PublishContext {
  const http = new HttpClient({ retries: 1, proxy: 'none' });
  http.backoffMs = 10;
  return withTransfer({
    target,
    blobs: { open: (d) => store.open(d.digest) },
    http,
    config: {},
    log: silentLogger,
    progress: () => {},
    bundle: { name: 'test', created: new Date(0).toISOString() },
    dryRun: false,
    services,
  });
}
