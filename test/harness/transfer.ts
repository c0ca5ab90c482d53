import { type ContentStore, type HttpClient, type Logger, type ProgressSink, Transfers } from '@airgap/core';

/**
 * Add the transfer engine to a hand-made SourceContext or PublishContext, as pack and unpack do
 * (one limit of `concurrency`, default 4).
 */
export function withTransfer<T extends { http: HttpClient; progress: ProgressSink; log: Logger; store?: ContentStore; concurrency?: number }>(c: T): T & { transfer: Transfers; concurrency: number } {
  const concurrency = c.concurrency ?? 4;
  return Object.assign(c, { concurrency, transfer: new Transfers({ store: c.store, http: c.http, concurrency, progress: c.progress, log: c.log }) });
}
