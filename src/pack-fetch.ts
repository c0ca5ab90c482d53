import { type Artifact, type ContentStore, type SourceContext, IntegrityError, artifactLabel, errorText } from '@airgap/core';
import pMap from 'p-map';
import { ecosystems } from './ecosystems.js';
import type { Reporter } from './report.js';

/** What pack does with an entry or artifact that failed: throw, or (--keep-going) record it and carry on. */
export type Fail = (entry: string, e: unknown) => void;

/** The bytes the download phase will move: each distinct blob the cache does not hold yet. */
async function bytesToFetch(wanted: Artifact[], store: ContentStore): Promise<number> {
  const sizes = new Map<string, number>();
  for (const a of wanted) for (const b of a.blobs) sizes.set(b.digest, b.size);
  let n = 0;
  for (const [digest, size] of sizes) if (!(await store.has(digest))) n += size;
  return n;
}

/**
 * Every artifact's blobs into the store, each checked there afterwards; returns those fetched (a failure
 * goes to `fail`). `onFetched` hears of each artifact whose blobs are all in the store.
 */
export async function fetchAll(wanted: Artifact[], ctx: SourceContext, fail: Fail, reporter: Reporter, concurrency: number, onFetched?: (a: Artifact) => void): Promise<Artifact[]> {
  reporter.progress({ type: 'phase', phase: 'fetch', total: wanted.length, bytes: await bytesToFetch(wanted, ctx.store) });
  // p-map only queues artifacts (bounded memory and progress lines); the transfer engine's one limit
  // is what bounds the downloads, across artifacts and ecosystems (docs/transfers.md).
  const ok = await pMap(wanted, async (a) => {
    reporter.progress({ type: 'artifact', state: 'start', artifact: a });
    try {
      await ecosystems.get(a.kind).source.fetch(a, ctx);
      for (const b of a.blobs) {
        const size = await ctx.store.size(b.digest);
        if (size !== b.size) throw new IntegrityError(`${artifactLabel(a)}: blob ${b.digest} is ${size === undefined ? 'missing from' : `${size} bytes in`} the cache, expected ${b.size}`, { subject: artifactLabel(a) });
      }
      reporter.progress({ type: 'artifact', state: 'done', artifact: a });
      onFetched?.(a);
      return true;
    } catch (e) {
      reporter.progress({ type: 'artifact', state: 'failed', artifact: a, error: errorText(e) });
      fail(artifactLabel(a), e);
      return false;
    }
  }, { concurrency });
  await ctx.transfer.sweep();
  return wanted.filter((_, i) => ok[i]);
}
