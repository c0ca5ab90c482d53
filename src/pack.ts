import { mkdir, readdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  type AirgapConfig, type Artifact, type BundleIndex, type Descriptor, type ExternalBlob, type HttpClient, type SourceContext,
  ContentStore, type DocumentLimits, type ProgressSink, IntegrityError, type Manifest, Transfers, UsageError, compileSchema, errorText, loadManifest, problemLines, schemaProblems,
} from '@airgap/core';
import { type SecretKey, writeBundle } from '@airgap/bundle';
import { cyclonedxSbom } from '@airgap/sbom';
import { PolicyGate } from './policy.js';
import { type Fail, fetchAll } from './pack-fetch.js';
import { BlobGate, HeldBytes, unchangedIndex } from './pack-overlap.js';
import { type Receipt, acquireLock, readReceipt, receiptKey } from '@airgap/ledger';
import { ecosystems } from './ecosystems.js';
import { externalBlobs } from './external.js';
import { findToolRelease } from './release.js';
import { TargetPaths } from './target-paths.js';
import type { Reporter } from './report.js';

export interface PackOptions {
  manifest: string;
  /** `--max-manifest-size`, `--max-manifest-entries` (docs/security.md). */
  manifestLimits?: DocumentLimits;
  outDir: string;
  key?: SecretKey;
  chunkSize: number;
  /** `--recovery PERCENT`: PAR2 recovery files beside the parts (docs/transfer.md). */
  recovery?: number;
  cacheDir: string;
  concurrency: number;
  keepGoing: boolean;
  dryRun: boolean;
  /** `--since RECEIPT`: leave out what the inside already holds (an incremental bundle). */
  since?: string;
  config: AirgapConfig;
  http: HttpClient;
  reporter: Reporter;
  toolVersion: string;
  now?: Date;
  /** `--include-tool`: carry airgap's own release beside the parts (docs/release.md); manifest `tool: true` does the same. */
  includeTool?: boolean;
  /** `--tool-release FILE`: the executable to carry (default: see src/release.ts). */
  toolRelease?: string;
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
  /** The carried release files (names in the bundle directory), empty without --include-tool. */
  tool: string[];
  artifacts: number;
  bytes: number;
  dryRun: boolean;
  /** What --keep-going left out, with why. */
  skipped: { entry: string; error: string }[];
  /** Per artifact kind: packed, and left out because the receipt lists them (`base`). */
  countsByKind: Record<string, { packed: number; base: number }>;
  /** Blobs written into the bundle. */
  blobs: number;
  durationMs: number;
  /** bundle.json `base`: the receipt an incremental bundle builds on, else null. */
  base: BundleBase | null;
  list?: PackedArtifact[];
  /** --dry-run: what the manifest's policy would refuse, one line each (a real pack exits 2 at the first). */
  refused?: string[];
}

/** What bundle.json records as `base` for an incremental bundle (docs/ledger.md). */
export interface BundleBase {
  receipt: { created: string; ledger: Receipt['ledger']; target: string | null };
  /** How many resolved artifacts were left out because the receipt lists them (listed in the index's `base`). */
  artifacts: number;
}

const PACK_LOCK = '.airgap-pack.lock';
/** The bundle writer's temporary directory names (packages/bundle writer.ts): `.<name>-<stamp>.partial-<hex>`. */
const PARTIAL_DIR = /^\..+\.partial-[0-9a-f]+$/;

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
 * upstream integrity) → bundle. One pipeline over the ecosystem interface (docs/design.md). Nothing is written
 * to --out unless every artifact made it (or --keep-going says to carry on, then the bundle records
 * what is missing and the command exits 4).
 */
export async function pack(opts: PackOptions): Promise<PackResult> {
  // The manifest is read and checked (regular file, size, entries) before the lock is taken (docs/security.md).
  const manifest = await loadManifest(opts.manifest, ecosystems, process.env, opts.manifestLimits);
  if (opts.dryRun) return packLocked(opts, manifest);
  // One pack per --out at a time (cron overlaps); a killed pack's temporary bundle directory is removed.
  await mkdir(opts.outDir, { recursive: true });
  const lock = await acquireLock(join(opts.outDir, PACK_LOCK), { what: `pack output folder ${opts.outDir}`, log: opts.reporter });
  try {
    await removeStalePartials(opts);
    return await packLocked(opts, manifest);
  } finally {
    await lock.release();
  }
}

async function removeStalePartials(opts: PackOptions): Promise<void> {
  for (const e of await readdir(opts.outDir, { withFileTypes: true })) {
    if (!e.isDirectory() || !PARTIAL_DIR.test(e.name)) continue;
    opts.reporter.warn(`removing ${join(opts.outDir, e.name)}: the unfinished bundle of a pack that was killed`);
    await rm(join(opts.outDir, e.name), { recursive: true, force: true });
  }
}

async function packLocked(opts: PackOptions, manifest: Manifest): Promise<PackResult> {
  const started = Date.now();
  const { reporter } = opts;
  const receipt = opts.since ? await readReceipt(opts.since) : undefined;
  // Looked up before anything is downloaded: a missing release is a usage error, found at once.
  const carry = opts.includeTool || manifest.tool ? await findToolRelease(opts.toolRelease) : [];
  const store = new ContentStore(opts.cacheDir);
  // Download events go through this indirection: while the parts are written during the downloads, the blob gate sees them first.
  const transferSink: { target: ProgressSink } = { target: reporter.progress };
  const transfer = new Transfers({ store, http: opts.http, concurrency: opts.concurrency, progress: (e) => transferSink.target(e), log: reporter });
  const ctx: SourceContext = {
    store,
    transfer,
    http: opts.http,
    config: opts.config,
    log: reporter,
    progress: reporter.progress,
    manifestDir: manifest.dir,
    concurrency: opts.concurrency,
    dryRun: opts.dryRun,
    ...(manifest.policy ? { policy: manifest.policy } : {}),
  };
  const gate = new PolicyGate(manifest, opts.dryRun);
  ctx.resolveAlso = (key, entry) => resolveAlso(key, entry, ctx, gate);
  ctx.fetchAlso = async (a) => {
    await ecosystems.load({ kinds: [a.kind] });
    await ecosystems.get(a.kind).source.fetch(a, ctx);
  };
  const skipped: PackResult['skipped'] = [];
  const fail = (entry: string, e: unknown) => {
    if (!opts.keepGoing) throw e;
    reporter.warn(`${entry}: ${errorText(e)} (left out: --keep-going)`);
    skipped.push({ entry, error: errorText(e) });
  };

  const refusedEntries = gate.checkEntries(manifest.sections, entryLabel);
  const resolved = await reporter.phase('Resolving the manifest', () => resolveManifest(manifest, refusedEntries, ctx, fail, reporter));

  // --since: an artifact the receipt lists (same kind, coordinates and digest) is already inside; it is
  // neither downloaded nor packed, only named in the index's `base` so unpack can check the target has it.
  const inside = new Set<string>();
  for (const [kind, list] of Object.entries(receipt?.artifacts ?? {})) for (const a of list) inside.add(receiptKey(kind, a));
  const baseArtifacts = resolved.filter((a) => inside.has(receiptKey(a.kind, a)));
  // Licence and size rules, before any byte of the bundle is downloaded.
  const wanted = gate.checkResolved(resolved.filter((a) => !inside.has(receiptKey(a.kind, a))));
  if (receipt) reporter.info(`--since ${opts.since}: ${baseArtifacts.length} artifacts already inside are left out, ${wanted.length} to pack`);
  const base: BundleBase | null = receipt
    ? { receipt: { created: receipt.created, ledger: receipt.ledger, target: receipt.target }, artifacts: baseArtifacts.length }
    : null;
  const countsByKind: PackResult['countsByKind'] = {};
  const count = (a: Artifact, k: 'packed' | 'base') => {
    countsByKind[a.kind] ??= { packed: 0, base: 0 };
    countsByKind[a.kind][k]++;
  };
  baseArtifacts.forEach((a) => count(a, 'base'));

  const list = wanted.map(describe);
  if (opts.dryRun) {
    wanted.forEach((a) => count(a, 'packed'));
    return {
      bundle: null, parts: 0, tool: carry.map((c) => c.file), artifacts: wanted.length, bytes: list.reduce((n, a) => n + a.size, 0), dryRun: true, skipped,
      countsByKind, blobs: 0, durationMs: Date.now() - started, base, list, refused: gate.refused,
    };
  }
  if (!opts.key) throw new UsageError('no signing key: pass --key FILE or set signingKey in the config', { hint: 'create one with: airgap keygen --out-dir keys --name outside' });

  await ecosystems.load({ kinds: [...new Set(wanted.map((a) => a.kind))] });
  const created = opts.now ?? new Date();
  /** The signed index of `fetched`, each artifact checked as verify checks it inside (docs/security.md "Index semantics"). */
  const indexOf = async (fetched: Artifact[]): Promise<BundleIndex> => {
    // --since: blobs the receipt lists as inside are not carried, even for new artifacts (docs/transfer.md).
    const external = receipt ? externalBlobs(fetched, receipt) : new Map<string, ExternalBlob>();
    if (external.size) reporter.info(`--since ${opts.since}: ${external.size} blobs already inside are not carried`);
    const blobs = new Map<string, Descriptor>();
    for (const a of fetched) for (const b of a.blobs) if (!blobs.has(b.digest) && !external.has(b.digest)) blobs.set(b.digest, { mediaType: b.mediaType, digest: b.digest, size: b.size });
    // A manifest value that slips past the manifest schema fails here, exit 2, before anything is signed.
    await ecosystems.load({ kinds: [...new Set([...fetched, ...baseArtifacts].map((a) => a.kind))] });
    for (const a of [...fetched, ...baseArtifacts]) checkBeforeSigning(a, manifest.file);
    return {
      schema: 'airgap.index/v1',
      name: manifest.name,
      created: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      artifacts: fetched,
      blobs: [...blobs.values()],
      ...(receipt ? { base: baseArtifacts } : {}),
      ...(external.size ? { external: [...external.values()] } : {}),
    };
  };
  const write = (index: BundleIndex, onBytes: (n: number) => void, during?: { gate: BlobGate; until: Promise<void> }) =>
    writeBundle({
      outDir: opts.outDir,
      name: manifest.name,
      created,
      index,
      blobs: index.blobs.map((d) => ({ descriptor: d, path: store.path(d.digest), open: () => store.open(d.digest), ready: during?.gate.ready(d.digest) })),
      chunkSize: opts.chunkSize,
      recovery: opts.recovery,
      key: opts.key!,
      toolVersion: opts.toolVersion,
      base,
      incomplete: skipped.length ? { skipped } : undefined,
      carry,
      until: during?.until,
      // docs/approval.md: the SBOM travels inside the signed bundle.
      sbom: Buffer.from(cyclonedxSbom({ index, tool: opts.toolVersion, facts: (a) => ecosystems.facts(a) })),
      onBytes,
    });
  // The parts hold the blobs plus tar headers and the index: close enough for percent and ETA.
  const writePhase = (index: BundleIndex) => reporter.progress({ type: 'phase', phase: 'write', bytes: index.blobs.reduce((n, b) => n + b.size, 0) });
  const toProgress = (n: number) => reporter.progress({ type: 'bytes', bytes: n });

  let fetched: Artifact[];
  let written: Awaited<ReturnType<typeof writeBundle>>;
  if (opts.keepGoing || wanted.some((a) => ecosystems.get(a.kind).source.pending?.(a))) {
    // What --keep-going leaves out, or a digest known only from the bytes, is known when every download is done: then the bundle.
    fetched = await reporter.phase('Downloading and verifying', () => fetchAll(wanted, ctx, fail, reporter, opts.concurrency));
    const index = await indexOf(fetched);
    written = await reporter.phase('Writing the bundle', () => (writePhase(index), write(index, toProgress)));
  } else {
    // Every artifact must make it and is final after resolve: the index is known now, so the parts are
    // written while the blobs download (src/pack-overlap.ts).
    fetched = wanted;
    const index = await indexOf(wanted);
    const snapshot = JSON.stringify(index);
    const gate = new BlobGate(index.blobs.map((d) => d.digest));
    for (const d of index.blobs) if (await store.has(d.digest)) gate.stored(d.digest);
    transferSink.target = gate.watch(reporter.progress);
    const held = new HeldBytes();
    const fetching = reporter.phase('Downloading and verifying', () =>
      fetchAll(wanted, ctx, fail, reporter, opts.concurrency, (a) => a.blobs.forEach((b) => gate.stored(b.digest))),
    ).then(() => unchangedIndex(index, snapshot));
    fetching.catch((e) => gate.fail(e));
    const writing = write(index, held.onBytes, { gate, until: fetching });
    writing.catch(() => undefined); // settled below, after the downloads
    try {
      await fetching;
    } catch (e) {
      await writing.catch(() => undefined); // the writer has stopped and removed its temporary directory
      throw e;
    } finally {
      transferSink.target = reporter.progress;
    }
    written = await reporter.phase('Writing the bundle', () => (writePhase(index), held.release(reporter.progress), writing));
  }
  fetched.forEach((a) => count(a, 'packed'));
  return {
    bundle: written.dir,
    parts: written.descriptor.parts.length,
    tool: carry.map((c) => c.file),
    artifacts: fetched.length,
    bytes: written.bytes,
    dryRun: false,
    skipped,
    countsByKind,
    blobs: written.descriptor.totals.blobs,
    durationMs: Date.now() - started,
    base,
  };
}

/** The ecosystem's validate on an artifact about to be signed; its refusal is the manifest's fault (exit 2). */
function checkBeforeSigning(a: Artifact, manifestFile: string): void {
  try {
    ecosystems.validate(a);
  } catch (e) {
    if (!(e instanceof IntegrityError)) throw e;
    throw new UsageError(`${manifestFile}: ${e.message.replace(/^bundle index: /, '')}: not packed, nothing signed`, {
      subject: e.subject, hint: 'the inside refuses such a value at verify (docs/security.md); fix the manifest entry that produces it', cause: e,
    });
  }
}

const entryValidators = new Map<string, ReturnType<typeof compileSchema>>();

/**
 * An entry another ecosystem implies (a chart's images → `images` entries): checked against that
 * section's schema like a manifest entry, then resolved by the registered ecosystem.
 */
async function resolveAlso(key: string, entry: unknown, ctx: SourceContext, gate: PolicyGate): Promise<Artifact[]> {
  await ecosystems.load({ manifestKeys: [key] });
  const eco = ecosystems.forManifestKey(key);
  if (!eco) throw new UsageError(`this airgap build cannot pack ${key} (not supported yet)`, { subject: key, hint: `leave out what needs ${key}` });
  if (!entryValidators.has(key)) entryValidators.set(key, compileSchema(eco.specSchema, `${key} entry`));
  const problems = schemaProblems(entryValidators.get(key)!, entry);
  if (problems.length) throw new UsageError(problemLines(`${key} entry ${JSON.stringify(entry)}`, problems), { subject: key });
  if (!gate.allowsEntry(key, entry, `${key} entry ${JSON.stringify(entry)}`)) return [];
  return eco.source.resolve(entry, ctx);
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

/**
 * Every manifest entry resolved by its ecosystem into exact artifacts (closure included), each once (a
 * duplicate is merged into the first), target paths checked (docs/manifest.md). A failing entry goes to `fail`.
 */
async function resolveManifest(manifest: Manifest, refusedEntries: Set<unknown>, ctx: SourceContext, fail: Fail, reporter: Reporter): Promise<Artifact[]> {
  const out: Artifact[] = [];
  const seen = new Map<string, Artifact>();
  const paths = new TargetPaths(manifest.file);
  for (const [key, entries] of Object.entries(manifest.sections)) {
    const eco = ecosystems.forManifestKey(key);
    if (!eco) throw new UsageError(`${manifest.file}: ${key}: this airgap build cannot pack ${key}`, { subject: key });
    for (const [i, entry] of entries.entries()) {
      if (refusedEntries.has(entry)) continue;
      try {
        for (const a of await eco.source.resolve(entry, ctx)) {
          paths.claim(a, entryLabel(key, i, entry));
          const k = artifactKey(a);
          const kept = seen.get(k);
          if (kept) eco.mergeDuplicate?.(kept, a);
          else {
            seen.set(k, a);
            out.push(a);
          }
        }
      } catch (e) {
        fail(entryLabel(key, i, entry), e);
      }
    }
  }
  paths.check();
  reporter.info(`${out.length} artifacts`);
  return out;
}
