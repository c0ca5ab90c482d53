import { randomUUID } from 'node:crypto';
import {
  type AirgapConfig, type Artifact, type EndpointFormat, type HttpClient, type PublishContext, type PublishHalf,
  TargetError, Transfers, TrustError, UsageError, artifactLabel, artifactSize, errorText,
} from '@airgap/core';
import { type PublicKey, type VerifiedBundle, verifyBundle } from '@airgap/bundle';
import { Ledger, type LedgerAction, type NewestBundles, acquireLock, noteBundle, scanLedger } from '@airgap/ledger';
import { ecosystems } from './ecosystems.js';
import pMap from 'p-map';
import type { Reporter } from './report.js';
import { resolveTarget } from './targets.js';

export interface UnpackOptions {
  bundleDir: string;
  to: string;
  trust: PublicKey[];
  insecureSkipSignature: boolean;
  ledgerPath: string;
  dryRun: boolean;
  concurrency: number;
  /** SPEC §6: accept a bundle older than the newest of its name in the ledger (recorded there). */
  allowOlder?: boolean;
  config: AirgapConfig;
  http: HttpClient;
  reporter: Reporter;
}

export interface UnpackedArtifact {
  kind: string;
  name: string;
  version: string;
  platform: string | null;
  digest: string;
  action: LedgerAction | 'would-push';
  error?: string;
}

export interface UnpackResult {
  bundle: string;
  name: string;
  created: string;
  signer: string | null;
  target: string;
  dryRun: boolean;
  counts: Record<string, number>;
  /** Per artifact kind, per action. */
  countsByKind: Record<string, Record<string, number>>;
  /** Bytes of the artifacts pushed (what crossed into the target). */
  bytes: number;
  durationMs: number;
  /** The receipt an incremental bundle builds on (bundle.json `base`), else null. */
  base: unknown;
  /** Artifacts the bundle builds on that were checked at the target (incremental bundles). */
  baseArtifacts: number;
  /** Set when --allow-older let an older bundle in: the newest bundle of the name the ledger had. */
  allowedOlder: { newest: string } | null;
  artifacts: UnpackedArtifact[];
  failures: { artifact: string; error: string }[];
  ledger: string | null;
}

export async function verifyWithTrust(bundleDir: string, trust: PublicKey[], insecure: boolean, reporter: Reporter): Promise<VerifiedBundle> {
  if (insecure) {
    reporter.warn('--insecure-skip-signature: the bundle signature is NOT checked; anyone could have made this bundle. This is recorded in the ledger.');
  } else if (trust.length === 0) {
    throw new TrustError('no trusted public key: every bundle must be signed by a key you trust', {
      hint: 'pass --pub FILE (the outside key\'s .pub) or list it under trust: in the config',
    });
  }
  return reporter.phase('Verifying the bundle', () =>
    verifyBundle(bundleDir, { trust, insecureSkipSignature: insecure, onBytes: (n) => reporter.progress({ type: 'bytes', bytes: n }) }),
  );
}

/**
 * `airgap unpack`: verify everything first (SPEC §7), then for each artifact ask the target whether it
 * is there (`present`, nothing sent) or publish it (`pushed`); one failure does not stop the others.
 * Every action is appended to the ledger. Children come before parents within an ecosystem's own
 * publish; kinds are handled in index order.
 */
export async function unpack(opts: UnpackOptions): Promise<UnpackResult> {
  const started = Date.now();
  const target = resolveTarget(opts.to, opts.config);
  // One unpack per ledger at a time (cron overlaps): taken before anything else, so a second run exits at once.
  const lock = opts.dryRun ? undefined : await acquireLock(`${opts.ledgerPath}.lock`, { what: `ledger ${opts.ledgerPath}`, log: opts.reporter });
  try {
    return await unpackLocked(opts, target, started);
  } finally {
    await lock?.release();
  }
}

async function unpackLocked(opts: UnpackOptions, target: ReturnType<typeof resolveTarget>, started: number): Promise<UnpackResult> {
  const { reporter } = opts;
  const bundle = await verifyWithTrust(opts.bundleDir, opts.trust, opts.insecureSkipSignature, reporter);
  const { index } = bundle;

  // The ledger is opened (and a torn last line repaired) before anything is published; a dry run only reads it.
  let ledger: Ledger | undefined;
  let newest: NewestBundles;
  if (opts.dryRun) {
    newest = new Map();
    await scanLedger(opts.ledgerPath, (r) => noteBundle(newest, r.bundle));
  } else {
    ledger = await Ledger.open(opts.ledgerPath, { log: reporter });
    newest = ledger.bundles;
  }
  let allowedOlder: UnpackResult['allowedOlder'] = null;
  try {
    allowedOlder = checkFreshness(bundle, newest, opts);
  } catch (e) {
    await ledger?.close();
    throw e;
  }

  const baseArtifacts = index.base ?? [];
  const byKind = new Map<string, Artifact[]>();
  for (const a of index.artifacts) {
    if (!byKind.has(a.kind)) byKind.set(a.kind, []);
    byKind.get(a.kind)!.push(a);
  }
  const kinds = new Map<string, Artifact[]>([...byKind].map(([k, list]) => [k, [...list]]));
  for (const a of baseArtifacts) {
    if (!kinds.has(a.kind)) kinds.set(a.kind, []);
    kinds.get(a.kind)!.push(a);
  }
  const halves = new Map<string, PublishHalf>();
  const formats = new Set<EndpointFormat>();
  for (const [kind, artifacts] of kinds) {
    const eco = ecosystems.get(kind as Artifact['kind']);
    if (target.type === 'dir') halves.set(kind, eco.publish.dir);
    else {
      const half = eco.publish.endpoint;
      if (!half) throw new UsageError(`target ${target.name} (${target.type}) cannot take ${kind} artifacts: this airgap build has no ${target.type} publisher for them`, { subject: `--to ${opts.to}`, hint: 'unpack into a dir: mirror instead' });
      halves.set(kind, half);
      for (const a of artifacts) formats.add(half.format(a));
    }
  }

  const driver = ecosystems.targetDriver(target.type);
  if (!driver) {
    await ledger?.close();
    throw new UsageError(`targets of type ${target.type} are not supported by this airgap build`, { subject: `--to ${opts.to}` });
  }
  let opened: Awaited<ReturnType<typeof driver.open>>;
  try {
    opened = await reporter.phase(`Checking target ${target.name}`, () =>
      driver.open(target, { http: opts.http, config: opts.config, log: reporter, formats, dryRun: opts.dryRun, env: process.env }),
    );
  } catch (e) {
    await ledger?.close();
    throw e;
  }

  const ctx: PublishContext = {
    target,
    blobs: bundle.blobs,
    http: opts.http,
    config: opts.config,
    log: reporter,
    progress: reporter.progress,
    bundle: { name: index.name, created: index.created },
    dryRun: opts.dryRun,
    concurrency: opts.concurrency,
    transfer: new Transfers({ http: opts.http, concurrency: opts.concurrency, progress: reporter.progress, log: reporter }),
    services: opened.services,
  };

  const run = randomUUID();
  const base = {
    run,
    bundle: { name: bundle.descriptor.name, created: bundle.descriptor.created, sha256: bundle.bundleJsonSha256 },
    signer: bundle.signer,
    target: target.name,
  };
  const results: UnpackedArtifact[] = [];
  const counts: Record<string, number> = {};
  const countsByKind: Record<string, Record<string, number>> = {};
  let bytes = 0;
  const failures: UnpackResult['failures'] = [];
  try {
    if (baseArtifacts.length) {
      await reporter.phase(`Checking that ${target.name} holds the ${baseArtifacts.length} artifacts this incremental bundle builds on`, () =>
        checkBase(baseArtifacts, halves, ctx, opts.concurrency, bundle),
      );
    }
    await ledger?.append({
      ...base, kind: 'run', name: bundle.descriptor.name, version: '', platform: null, digest: null, size: null,
      action: 'start', error: null, durationMs: null,
      note: {
        artifacts: index.artifacts.length,
        ...(opts.insecureSkipSignature ? { insecureSkipSignature: true } : {}),
        ...(allowedOlder ? { allowOlder: { newest: allowedOlder.newest } } : {}),
        ...(bundle.descriptor.base ? { base: bundle.descriptor.base, baseArtifacts: baseArtifacts.length } : {}),
      },
    });
    await reporter.phase(opts.dryRun ? 'Comparing with the target (dry run)' : `Publishing to ${target.name}`, async () => {
      reporter.progress({ type: 'phase', phase: 'publish', total: index.artifacts.length });
      for (const [kind, artifacts] of byKind) {
        const half = halves.get(kind)!;
        // p-map queues artifacts; each push inside waits for the transfer engine's one limit (docs/transfers.md).
        const done = await pMap(artifacts, async (a): Promise<UnpackedArtifact> => {
          const t0 = Date.now();
          let action: UnpackedArtifact['action'];
          let error: string | undefined;
          try {
            const presence = await half.exists(a, ctx);
            if (presence === 'present') action = 'present';
            else if (opts.dryRun) action = 'would-push';
            else {
              await half.publish(a, ctx);
              action = 'pushed';
            }
          } catch (e) {
            action = 'failed';
            error = errorText(e);
            failures.push({ artifact: artifactLabel(a), error });
          }
          counts[action] = (counts[action] ?? 0) + 1;
          countsByKind[a.kind] ??= {};
          countsByKind[a.kind][action] = (countsByKind[a.kind][action] ?? 0) + 1;
          if (action === 'pushed') bytes += artifactSize(a);
          reporter.progress({ type: 'artifact', state: action === 'would-push' ? 'skipped' : action, artifact: a, error });
          if (action !== 'would-push') {
            await ledger?.append({
              ...base, kind: a.kind, name: a.name, version: a.version, platform: a.platform ?? null, digest: a.digest,
              size: artifactSize(a), action, error: error ?? null, durationMs: Date.now() - t0,
              blobs: a.blobs.map((b) => b.digest),
            });
          }
          return { kind: a.kind, name: a.name, version: a.version, platform: a.platform ?? null, digest: a.digest, action, ...(error ? { error } : {}) };
        }, { concurrency: opts.concurrency });
        results.push(...done);
        if (!opts.dryRun && half.finalize) {
          try {
            // The kind's whole state as this bundle describes it: what it brought and what it builds on.
            await half.finalize([...baseArtifacts.filter((b) => b.kind === kind), ...artifacts], ctx);
          } catch (e) {
            failures.push({ artifact: `${kind} index at ${target.name}`, error: errorText(e) });
            reporter.warn(`finishing ${kind} at ${target.name}: ${errorText(e)}`);
          }
        }
      }
    });
    await ledger?.append({
      ...base, kind: 'run', name: bundle.descriptor.name, version: '', platform: null, digest: null, size: null,
      action: 'end', error: failures.length ? `${failures.length} failed` : null, durationMs: Date.now() - started, note: { counts },
    });
  } finally {
    await ledger?.close();
    await opened.close?.();
  }
  return {
    bundle: bundle.dir,
    name: bundle.descriptor.name,
    created: bundle.descriptor.created,
    signer: bundle.signer,
    target: target.name,
    dryRun: opts.dryRun,
    counts,
    countsByKind,
    bytes,
    durationMs: Date.now() - started,
    base: bundle.descriptor.base ?? null,
    baseArtifacts: baseArtifacts.length,
    allowedOlder,
    artifacts: results,
    failures,
    ledger: ledger ? opts.ledgerPath : null,
  };
}

/**
 * SPEC §6 freshness: a bundle older (by its signed `created`) than the newest bundle of the same name the
 * ledger records is refused, so an old bundle cannot be replayed to roll content back. The same bundle
 * again (a re-run) is not older. `--allow-older` lets it in; the run record notes it.
 */
function checkFreshness(bundle: VerifiedBundle, newest: NewestBundles, opts: UnpackOptions): UnpackResult['allowedOlder'] {
  const { name, created } = bundle.descriptor;
  const seen = newest.get(name);
  if (!seen || Date.parse(created) >= Date.parse(seen.created)) return null;
  if (!opts.allowOlder) {
    throw new TrustError(`bundle ${name} of ${created} is older than bundle ${name} of ${seen.created}, which the ledger ${opts.ledgerPath} already records`, {
      subject: bundle.dir,
      hint: 'an older bundle could roll content back; if this is intended (e.g. re-importing into a new target), pass --allow-older (recorded in the ledger)',
    });
  }
  opts.reporter.warn(`--allow-older: bundle ${name} of ${created} is older than ${seen.created}, which the ledger records; importing it anyway (recorded in the ledger)`);
  return { newest: seen.created };
}

/**
 * An incremental bundle (`pack --since`) leaves out what its receipt lists. Before publishing anything,
 * ask the target (the publish halves' `exists`) for each of those artifacts: a target that lacks them
 * (another target, a wiped mirror) would end up with a partial state. Exit 1 (TargetError): the bundle is
 * fine, the target is not ready for it (docs/ledger.md).
 */
async function checkBase(baseArtifacts: Artifact[], halves: Map<string, PublishHalf>, ctx: PublishContext, concurrency: number, bundle: VerifiedBundle): Promise<void> {
  const missing: string[] = [];
  await pMap(baseArtifacts, async (a) => {
    try {
      if ((await halves.get(a.kind)!.exists(a, ctx)) !== 'present') missing.push(artifactLabel(a));
    } catch (e) {
      missing.push(`${artifactLabel(a)} (${errorText(e)})`);
    }
  }, { concurrency });
  if (!missing.length) return;
  missing.sort();
  const shown = missing.slice(0, 20).map((m) => `  ${m}`).join('\n');
  const base = bundle.descriptor.base as { receipt?: { created?: string } } | null;
  throw new TargetError(
    `bundle ${bundle.descriptor.name} of ${bundle.descriptor.created} is incremental: it builds on ${baseArtifacts.length} artifacts, and target ${ctx.target.name} lacks ${missing.length} of them:\n${shown}${missing.length > 20 ? `\n  … and ${missing.length - 20} more` : ''}`,
    {
      subject: ctx.target.name,
      hint: `unpack the bundles it builds on into ${ctx.target.name} first${base?.receipt?.created ? ` (it was packed against a receipt of ${base.receipt.created})` : ''}, or ask the outside for a full bundle (pack without --since)`,
    },
  );
}
