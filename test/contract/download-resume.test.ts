/**
 * Contract (docs/transfers.md "Retries and resuming", "Progress"): every ecosystem's downloads go through
 * the one transfer engine, so for each of the seven a blob whose connection is cut halfway is resumed
 * with `Range`/`If-Range`, ends up byte for byte in the cache, and reports byte progress (start,
 * resumed at the cut, done). Upstreams are the real ones of test/approval/seven-kinds.ts (docker-registry,
 * verdaccio, a PyPI simple index, static apt/yum/Helm/file sites), each behind a loopback proxy that
 * drops the connection in the middle of the first GET of every blob.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Artifact, type SourceContext, type TransferProgress, ContentStore, HttpClient, Transfers, loadManifest, silentLogger,
} from '@airgap/core';
import { ecosystems } from '../../src/ecosystems.js';
import { type GaugeProxy, startGaugeProxy, tempDir } from '../harness/index.js';
import { type SevenKinds, sevenKinds } from '../approval/seven-kinds.js';

/** The blob files of each ecosystem's upstream (documents and indexes are not cut). */
const BLOB = /\/blobs\/sha256:[a-f0-9]{64}$|\.(?:tgz|deb|rpm|whl)$|\/velero\.sh$/;
const KINDS = ['images', 'charts', 'apt', 'yum', 'pypi', 'npm', 'files'];

let work: string;
let fx: SevenKinds;
let proxies: GaugeProxy[] = [];
let sections: Record<string, unknown[]>;

beforeAll(async () => {
  work = await tempDir('airgap-resume-');
  fx = await sevenKinds(work);
  const origins = [`http://${fx.registry.host}/`, fx.site.url, fx.pypi.url, fx.npm.url.replace(/\/?$/, '/')];
  proxies = await Promise.all(origins.map((o) => startGaugeProxy(o, { cutOnce: (p) => BLOB.test(p) })));
  let text = fx.manifest('resume');
  origins.forEach((o, i) => {
    text = text.split(o.replace(/^http:\/\//, '').replace(/\/$/, '')).join(proxies[i].host);
  });
  const file = join(work, 'resume.yaml');
  await writeFile(file, text);
  await ecosystems.load('all');
  sections = (await loadManifest(file, ecosystems)).sections as Record<string, unknown[]>;
}, 600_000);

afterAll(async () => {
  await Promise.allSettled(proxies.map((p) => p.stop()));
  await fx?.stop();
});

function context(store: ContentStore, events: TransferProgress[]): SourceContext {
  const http = new HttpClient({ retries: 2, proxy: 'none' });
  http.backoffMs = 10;
  const progress = (e: { type: string }) => {
    if (e.type === 'transfer') events.push(e as TransferProgress);
  };
  return {
    store, http, config: {}, log: silentLogger, progress, manifestDir: work, concurrency: 4, dryRun: false,
    transfer: new Transfers({ store, http, concurrency: 4, progress, log: silentLogger, progressEvery: 1 }),
  };
}

describe('a blob cut off mid-stream is resumed, for every ecosystem', () => {
  it('covers every registered ecosystem', () => {
    expect(ecosystems.manifestKeys().sort()).toEqual([...KINDS].sort());
    expect(Object.keys(sections).sort()).toEqual([...KINDS].sort());
  });

  it.each(KINDS)('%s: Range request after the cut, the whole blob in the cache, byte progress reported', async (key) => {
    const store = new ContentStore(join(work, `cache-${key}`));
    const events: TransferProgress[] = [];
    const ctx = context(store, events);
    const marks = proxies.map((p) => p.requests.length);
    const eco = ecosystems.forManifestKey(key)!;
    const artifacts: Artifact[] = [];
    for (const entry of sections[key]) artifacts.push(...(await eco.source.resolve(entry, ctx)));
    for (const a of artifacts) await eco.source.fetch(a, ctx);
    expect(artifacts.length).toBeGreaterThan(0);

    const seen = proxies.flatMap((p, i) => p.requests.slice(marks[i]).map((r) => ({ ...r, proxy: p })));
    const cuts = seen.filter((r) => r.cut);
    expect(cuts.length, `${key}: no blob download was cut`).toBeGreaterThan(0);
    for (const cut of cuts) {
      const path = decodeURIComponent(new URL(cut.path, 'http://x').pathname);
      const whole = cut.proxy.bodies.get(path)!;
      const after = seen.slice(seen.indexOf(cut) + 1).filter((r) => r.proxy === cut.proxy && r.path === cut.path);
      // The second request for the blob asks for the rest only, and gets it.
      expect(after[0], `${key} ${path}: no second request`).toBeDefined();
      expect(after[0].range, `${key} ${path}`).toBe(`bytes=${cut.sent}-`);
      expect(after[0].status, `${key} ${path}`).toBe(206);
      // The cache holds exactly the upstream's bytes.
      const digest = 'sha256:' + createHash('sha256').update(whole).digest('hex');
      expect(await store.has(digest), `${key} ${path} in the cache`).toBe(true);
      expect((await readFile(store.path(digest))).equals(whole)).toBe(true);
      // Byte progress: started, resumed at the cut, done with the whole size.
      const subject = events.find((e) => e.direction === 'download' && e.state === 'done' && e.digest === digest)?.subject;
      expect(subject, `${key} ${path}: no progress event says it is done`).toBeDefined();
      const mine = events.filter((e) => e.direction === 'download' && e.subject === subject);
      expect(mine.map((e) => e.state), `${key} ${path}`).toEqual(expect.arrayContaining(['start', 'resumed', 'done']));
      expect(mine.find((e) => e.state === 'resumed')!.done).toBe(cut.sent);
      expect(mine.find((e) => e.state === 'done')!.done).toBe(whole.length);
    }
    // Every artifact's blobs are whole in the cache (what pack checks before writing the bundle).
    for (const a of artifacts) for (const b of a.blobs) expect(await store.size(b.digest), `${key} ${a.name} ${b.digest}`).toBe(b.size);
  }, 300_000);
});
