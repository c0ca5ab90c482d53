import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  type AirgapConfig, type Artifact, type BundleIndex, type Descriptor, type HttpClient, type SourceContext,
  ContentStore, IntegrityError, UsageError, artifactLabel, errorText, loadManifest,
} from '@airgap/core';
import { type SecretKey, writeBundle } from '@airgap/bundle';
import { ecosystems } from './ecosystems.js';
import { mapLimit } from './concurrency.js';
import type { Reporter } from './report.js';

export interface PackOptions {
  manifest: string;
  outDir: string;
  key?: SecretKey;
  chunkSize: number;
  cacheDir: string;
  concurrency: number;
  keepGoing: boolean;
  dryRun: boolean;
  config: AirgapConfig;
  http: HttpClient;
  reporter: Reporter;
  toolVersion: string;
  now?: Date;
}

export interface PackedArtifact {
  kind: string;
  name: string;
  version: string;
  platform: string | null;
  digest: string;
  size: number;
  upstream: string;
}

export interface PackResult {
  bundle: string | null;
  parts: number;
  artifacts: number;
  bytes: number;
  dryRun: boolean;
  /** What --keep-going left out, with why. */
  skipped: { entry: string; error: string }[];
  list?: PackedArtifact[];
}

export function defaultCacheDir(config: AirgapConfig): string {
  if (config.cache) return config.cache;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'airgap');
}

function artifactKey(a: Artifact): string {
  return [a.kind, a.name, a.version, a.platform ?? '', a.digest].join('\u0000');
}

function entryLabel(key: string, i: number, entry: unknown): string {
  const e = entry as Record<string, unknown>;
  const what = e.ref ?? e.url ?? e.name ?? e.baseurl ?? e.index ?? e.registry ?? '';
  return `${key}[${i}]${what ? ` (${String(what)})` : ''}`;
}

/**
 * `airgap pack`: manifest → resolve (closure, pinning) → fetch into the download cache (verifying
 * upstream integrity) → bundle. One pipeline over the ecosystem interface (STYLE). Nothing is written
 * to --out unless every artifact made it (or --keep-going says to carry on, then the bundle records
 * what is missing and the command exits 4).
 */
export async function pack(opts: PackOptions): Promise<PackResult> {
  const { reporter } = opts;
  const manifest = await loadManifest(opts.manifest, ecosystems, process.env);
  const store = new ContentStore(opts.cacheDir);
  const ctx: SourceContext = {
    store,
    http: opts.http,
    config: opts.config,
    log: reporter,
    progress: reporter.progress,
    manifestDir: manifest.dir,
    concurrency: opts.concurrency,
    dryRun: opts.dryRun,
  };
  const skipped: PackResult['skipped'] = [];
  const fail = (entry: string, e: unknown) => {
    if (!opts.keepGoing) throw e;
    reporter.warn(`${entry}: ${errorText(e)} (left out: --keep-going)`);
    skipped.push({ entry, error: errorText(e) });
  };

  const resolved = await reporter.phase('Resolving the manifest', async () => {
    const out: Artifact[] = [];
    const seen = new Set<string>();
    for (const [key, entries] of Object.entries(manifest.sections)) {
      const eco = ecosystems.forManifestKey(key);
      if (!eco) throw new UsageError(`${manifest.file}: ${key}: this airgap build cannot pack ${key}`, { subject: key });
      for (const [i, entry] of entries.entries()) {
        try {
          for (const a of await eco.source.resolve(entry, ctx)) {
            const k = artifactKey(a);
            if (!seen.has(k)) {
              seen.add(k);
              out.push(a);
            }
          }
        } catch (e) {
          fail(entryLabel(key, i, entry), e);
        }
      }
    }
    reporter.info(`${out.length} artifacts`);
    return out;
  });

  const list = resolved.map(describe);
  if (opts.dryRun) {
    return { bundle: null, parts: 0, artifacts: resolved.length, bytes: list.reduce((n, a) => n + a.size, 0), dryRun: true, skipped, list };
  }
  if (!opts.key) throw new UsageError('no signing key: pass --key FILE or set signingKey in the config', { hint: 'create one with: airgap keygen --out-dir keys --name outside' });

  const fetched = await reporter.phase('Downloading and verifying', async () => {
    reporter.progress({ type: 'phase', phase: 'fetch', total: resolved.length });
    const ok = await mapLimit(resolved, opts.concurrency, async (a) => {
      reporter.progress({ type: 'artifact', state: 'start', artifact: a });
      try {
        await ecosystems.get(a.kind).source.fetch(a, ctx);
        for (const b of a.blobs) {
          const size = await store.size(b.digest);
          if (size !== b.size) throw new IntegrityError(`${artifactLabel(a)}: blob ${b.digest} is ${size === undefined ? 'missing from' : `${size} bytes in`} the cache, expected ${b.size}`, { subject: artifactLabel(a) });
        }
        reporter.progress({ type: 'artifact', state: 'done', artifact: a });
        return true;
      } catch (e) {
        reporter.progress({ type: 'artifact', state: 'failed', artifact: a, error: errorText(e) });
        fail(artifactLabel(a), e);
        return false;
      }
    });
    return resolved.filter((_, i) => ok[i]);
  });

  const blobs = new Map<string, Descriptor>();
  for (const a of fetched) for (const b of a.blobs) if (!blobs.has(b.digest)) blobs.set(b.digest, { mediaType: b.mediaType, digest: b.digest, size: b.size });
  const created = opts.now ?? new Date();
  const index: BundleIndex = {
    schema: 'airgap.index/v1',
    name: manifest.name,
    created: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    artifacts: fetched,
    blobs: [...blobs.values()],
  };

  const written = await reporter.phase('Writing the bundle', () =>
    writeBundle({
      outDir: opts.outDir,
      name: manifest.name,
      created,
      index,
      blobs: index.blobs.map((d) => ({ descriptor: d, open: () => store.open(d.digest) })),
      chunkSize: opts.chunkSize,
      key: opts.key!,
      toolVersion: opts.toolVersion,
      base: null,
      incomplete: skipped.length ? { skipped } : undefined,
      onBytes: (n) => reporter.progress({ type: 'bytes', bytes: n }),
    }),
  );
  return {
    bundle: written.dir,
    parts: written.descriptor.parts.length,
    artifacts: fetched.length,
    bytes: written.bytes,
    dryRun: false,
    skipped,
  };
}

function describe(a: Artifact): PackedArtifact {
  return {
    kind: a.kind,
    name: a.name,
    version: a.version,
    platform: a.platform ?? null,
    digest: a.digest,
    size: a.blobs.reduce((n, b) => n + b.size, 0),
    upstream: a.upstream.url,
  };
}
