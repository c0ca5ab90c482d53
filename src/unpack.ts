import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import {
  type AirgapConfig, type Artifact, type EndpointFormat, type EndpointPublishHalf, type HttpClient, type PublishContext, type PublishHalf,
  type ResolvedTarget, IntegrityError, TargetError, Transfers, TrustError, UsageError, artifactLabel, artifactSize, errorText,
} from '@airgap/core';
import { type BundleDescriptor, type PublicKey, type VerifiedBundle, assessDamage, checkBundleFiles, damageError, verifyBundle } from '@airgap/bundle';
import { Ledger, type LedgerAction, type NewestBundlesByTarget, acquireLock, noteBundleAt, scanLedger } from '@airgap/ledger';
import { ecosystems } from './ecosystems.js';
import { checkExternal } from './external.js';
import { keepSbom } from './sbom-copy.js';
import pMap from 'p-map';
import type { Reporter } from './report.js';
import { UnpackPlan } from './route.js';
import { publishPath } from './target-paths.js';
import { checkBase, checkFreshness } from './unpack-checks.js';

export interface UnpackOptions {
  bundleDir: string;
  to: string;
  trust: PublicKey[];
  insecureSkipSignature: boolean;
  ledgerPath: string;
  dryRun: boolean;
  concurrency: number;
  /** docs/security.md: accept a bundle older than the newest of its name in the ledger (recorded there). */
  allowOlder?: boolean;
  /** `--only KINDS` / `--exclude KINDS` (artifact kinds or manifest sections). */
  only?: string[];
  exclude?: string[];
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
  /** An image whose tag this push moved: the digest the tag pointed to before (docs/oci.md). */
  previous?: string;
}

export interface UnpackResult {
  bundle: string;
  name: string;
  created: string;
  signer: string | null;
  target: string;
  /** For a route target: the target each kind went to. */
  routes?: Record<string, string>;
  /** Artifacts per kind that --only / --exclude left out (not published, not in the ledger). */
  excluded: Record<string, number>;
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
  allowedOlder: { newest: string; target: string } | null;
  artifacts: UnpackedArtifact[];
  failures: { artifact: string; error: string }[];
  ledger: string | null;
  /** Where the bundle's SBOM was kept beside the ledger (docs/approval.md), else null. */
  sbom: string | null;
}

export async function verifyWithTrust(
  bundleDir: string, trust: PublicKey[], insecure: boolean, reporter: Reporter,
  beforeParts?: (d: BundleDescriptor) => void | Promise<void>,
): Promise<VerifiedBundle> {
  await checkBundleDir(bundleDir);
  if (insecure) {
    reporter.warn('--insecure-skip-signature: the bundle signature is NOT checked; anyone could have made this bundle. This is recorded in the ledger.');
  } else if (trust.length === 0) {
    throw new UsageError('no trusted public key: every bundle must be signed by a key you trust', {
      hint: 'pass --pub FILE (the outside key\'s .pub) or list it under trust: in the config (docs/exit-codes.md)',
    });
  }
  return reporter.phase('Verifying the bundle', async () => {
    try {
      // The parts' sizes come from the signed descriptor: the total for percent and ETA.
      const withTotal = async (d: BundleDescriptor) => {
        await beforeParts?.(d);
        reporter.progress({ type: 'phase', phase: 'verify', bytes: d.parts.reduce((n, p) => n + p.size, 0) });
      };
      return await verifyBundle(bundleDir, { trust, insecureSkipSignature: insecure, beforeParts: withTotal, validate: (a) => ecosystems.validateLoading(a), onBytes: (n) => reporter.progress({ type: 'bytes', bytes: n }) });
    } catch (e) {
      // A part fault: name every damaged part and say whether the recovery data can rebuild them.
      if (e instanceof IntegrityError) {
        const report = await assessDamage(bundleDir, { trust, insecureSkipSignature: insecure }).catch(() => undefined);
        if (report?.damaged.length) throw damageError(report);
      }
      throw e;
    }
  });
}

/**
 * A path that is no bundle directory at all (mistyped, not mounted, unreadable) is a usage error (exit 2,
 * docs/exit-codes.md); what is wrong inside a bundle directory is for verify to say (exit 3).
 */
export async function checkBundleDir(dir: string): Promise<void> {
  const hint = 'pass the bundle directory (the one holding bundle.json, bundle.json.minisig, SHA256SUMS and part-*)';
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : `cannot be read (${code ?? (e as Error).message})`;
    throw new UsageError(`${dir}: ${why}`, { subject: dir, hint, cause: e });
  }
  if (!entries.includes('bundle.json')) {
    throw new UsageError(`${dir} is not a bundle directory: it has no bundle.json`, { subject: dir, hint });
  }
}

/** One target of the run, opened once, with the publish context its kinds use. */
interface OpenedTarget {
  target: ResolvedTarget;
  ctx: PublishContext;
  close?: () => Promise<void>;
}

/**
 * `airgap unpack`: verify everything first (docs/design.md), then for each artifact ask the target whether it
 * is there (`present`, nothing sent) or publish it (`pushed`); one failure does not stop the others.
 * Every action is appended to the ledger. Children come before parents within an ecosystem's own
 * publish; kinds are handled in index order. A route target (src/route.ts) sends each kind to its own
 * target in the same run, with one ledger.
 */
export async function unpack(opts: UnpackOptions): Promise<UnpackResult> {
  const started = Date.now();
  const plan = new UnpackPlan(opts.to, opts.config, { only: opts.only, exclude: opts.exclude });
  // A FIFO or device among the bundle's files is refused before any lock is taken (docs/security.md).
  await checkBundleFiles(opts.bundleDir);
  // One unpack per ledger at a time (cron overlaps): taken before the long work, so a second run exits at once.
  const lock = opts.dryRun ? undefined : await acquireLock(`${opts.ledgerPath}.lock`, { what: `ledger ${opts.ledgerPath}`, log: opts.reporter });
  try {
    return await unpackLocked(opts, plan, started);
  } finally {
    await lock?.release();
  }
}

async function unpackLocked(opts: UnpackOptions, plan: UnpackPlan, started: number): Promise<UnpackResult> {
  const { reporter } = opts;
  // The signed bundle.json says which kinds it holds: a kind no target takes is refused before any part is read.
  const bundle = await verifyWithTrust(opts.bundleDir, opts.trust, opts.insecureSkipSignature, reporter, async (d) => {
    if (!d.kinds) return;
    await plan.prepare(Object.keys(d.kinds));
    plan.check(Object.keys(d.kinds), opts.config, process.env);
  });
  const { index } = bundle;

  // The ledger is opened (and a torn last line repaired) before anything is published; a dry run only reads it.
  let ledger: Ledger | undefined;
  let newest: NewestBundlesByTarget;
  if (opts.dryRun) {
    newest = new Map();
    await scanLedger(opts.ledgerPath, (r) => noteBundleAt(newest, r));
  } else {
    ledger = await Ledger.open(opts.ledgerPath, { log: reporter });
    newest = ledger.bundlesByTarget;
  }
  const opened = new Map<string, OpenedTarget>();
  const closeAll = async () => {
    await ledger?.close();
    for (const o of opened.values()) await o.close?.();
  };
  let allowedOlder: UnpackResult['allowedOlder'] = null;
  const baseArtifacts = (index.base ?? []).filter((a) => plan.included(a.kind));
  const byKind = new Map<string, Artifact[]>();
  const excluded: Record<string, number> = {};
  for (const a of index.artifacts) {
    if (!plan.included(a.kind)) {
      excluded[a.kind] = (excluded[a.kind] ?? 0) + 1;
      continue;
    }
    if (!byKind.has(a.kind)) byKind.set(a.kind, []);
    byKind.get(a.kind)!.push(a);
  }
  const kinds = new Set([...byKind.keys(), ...baseArtifacts.map((a) => a.kind)]);
  const halves = new Map<string, PublishHalf>();
  const ctxOf = (kind: string) => opened.get(plan.targetFor(kind)!.name)!.ctx;
  // One engine for every target of the run: --concurrency bounds all pushes together (docs/transfers.md).
  const transfer = new Transfers({ http: opts.http, concurrency: opts.concurrency, progress: reporter.progress, log: reporter });
  try {
    allowedOlder = checkFreshness(bundle, newest, plan, opts);
    // Again from the verified index (a bundle from before bundle.json listed its kinds).
    await plan.prepare(kinds);
    plan.check(kinds, opts.config, process.env);
    const formats = new Map<string, Set<EndpointFormat>>();
    for (const kind of kinds) {
      const half = plan.half(kind);
      halves.set(kind, half);
      const target = plan.targetFor(kind)!;
      if (!formats.has(target.name)) formats.set(target.name, new Set());
      if (target.type !== 'dir' && target.type !== 's3') {
        for (const a of [...(byKind.get(kind) ?? []), ...baseArtifacts.filter((b) => b.kind === kind)]) formats.get(target.name)!.add((half as EndpointPublishHalf).format(a));
      }
    }
    for (const target of plan.targets().filter((t) => formats.has(t.name))) {
      const driver = ecosystems.targetDriver(target.type);
      if (!driver) throw new UsageError(`targets of type ${target.type} are not supported by this airgap build`, { subject: `--to ${opts.to}` });
      const o = await reporter.phase(`Checking target ${target.name}`, () =>
        driver.open(target, { http: opts.http, config: opts.config, log: reporter, formats: formats.get(target.name)!, dryRun: opts.dryRun, env: process.env }),
      );
      opened.set(target.name, {
        target,
        close: o.close?.bind(o),
        ctx: {
          target, blobs: bundle.blobs, http: opts.http, config: opts.config, log: reporter, progress: reporter.progress,
          bundle: { name: index.name, created: index.created }, dryRun: opts.dryRun, services: o.services,
          concurrency: opts.concurrency, transfer,
        },
      });
    }
  } catch (e) {
    await closeAll();
    throw e;
  }

  const run = randomUUID();
  const base = {
    run,
    bundle: { name: bundle.descriptor.name, created: bundle.descriptor.created, sha256: bundle.bundleJsonSha256 },
    signer: bundle.signer,
    target: plan.name,
  };
  const routes = plan.isRoute ? Object.fromEntries([...kinds].map((k) => [k, plan.targetFor(k)!.name])) : undefined;
  const results: UnpackedArtifact[] = [];
  let sbom: string | null = null;
  const counts: Record<string, number> = {};
  const countsByKind: Record<string, Record<string, number>> = {};
  let bytes = 0;
  const failures: UnpackResult['failures'] = [];
  // An integrity failure while publishing (a part changed after verification) stops the run: nothing
  // further is published, the ledger records why, and unpack exits 3 (docs/security.md).
  let stopped: IntegrityError | undefined;
  try {
    if (baseArtifacts.length) {
      await reporter.phase(`Checking that ${plan.name} holds the ${baseArtifacts.length} artifacts this incremental bundle builds on`, () =>
        checkBase(baseArtifacts, halves, ctxOf, plan.name, opts.concurrency, bundle),
      );
    }
    if (index.external?.length) {
      await reporter.phase(`Checking that ${plan.name} holds the ${index.external.length} blobs this incremental bundle does not carry`, () =>
        checkExternal(index, halves, ctxOf, plan.name, opts.concurrency),
      );
    }
    await ledger?.append({
      ...base, kind: 'run', name: bundle.descriptor.name, version: '', platform: null, digest: null, size: null,
      action: 'start', error: null, durationMs: null,
      note: {
        artifacts: index.artifacts.length,
        ...(routes ? { routes } : {}),
        ...(Object.keys(excluded).length ? { excluded } : {}),
        ...(opts.insecureSkipSignature ? { insecureSkipSignature: true } : {}),
        ...(allowedOlder ? { allowOlder: { newest: allowedOlder.newest, target: allowedOlder.target } } : {}),
        ...(bundle.descriptor.base ? { base: bundle.descriptor.base, baseArtifacts: baseArtifacts.length } : {}),
      },
    });
    const total = [...byKind.values()].reduce((n, l) => n + l.length, 0);
    // Never overwrite within one run (a bundle packed before pack refused two entries with one path).
    const claimed = new Map<string, Artifact>();
    await reporter.phase(opts.dryRun ? 'Comparing with the target (dry run)' : `Publishing to ${plan.name}`, async () => {
      reporter.progress({ type: 'phase', phase: 'publish', total });
      for (const [kind, artifacts] of byKind) {
        const half = halves.get(kind)!;
        if (stopped) break;
        const ctx = ctxOf(kind);
        // p-map queues artifacts; each push inside waits for the transfer engine's one limit (docs/transfers.md).
        const done = await pMap(artifacts, async (a): Promise<UnpackedArtifact | undefined> => {
          if (stopped) return undefined;
          const t0 = Date.now();
          let action: UnpackedArtifact['action'];
          let error: string | undefined;
          let previous: string | undefined;
          try {
            const path = publishPath(a);
            const owner = path === undefined ? undefined : claimed.get(`${ctx.target.name}\0${path}`);
            if (owner && owner.digest !== a.digest) {
              throw new UsageError(`${artifactLabel(a)}: ${artifactLabel(owner)} of this bundle has the same target path with other content; not overwritten`);
            }
            if (path !== undefined && !owner) claimed.set(`${ctx.target.name}\0${path}`, a);
            const presence = await half.exists(a, ctx);
            if (presence === 'present') action = 'present';
            else if (opts.dryRun) action = 'would-push';
            else {
              previous = (await half.publish(a, ctx))?.previous;
              action = 'pushed';
            }
          } catch (e) {
            action = 'failed';
            error = errorText(e);
            failures.push({ artifact: artifactLabel(a), error });
            const integrity = integrityFailure(e);
            if (integrity) stopped ??= integrity;
          }
          counts[action] = (counts[action] ?? 0) + 1;
          countsByKind[a.kind] ??= {};
          countsByKind[a.kind][action] = (countsByKind[a.kind][action] ?? 0) + 1;
          if (action === 'pushed') bytes += artifactSize(a);
          reporter.progress({ type: 'artifact', state: action === 'would-push' ? 'skipped' : action, artifact: a, error });
          if (action !== 'would-push') {
            await ledger?.append({
              ...base, target: ctx.target.name, kind: a.kind, name: a.name, version: a.version, platform: a.platform ?? null, digest: a.digest,
              size: artifactSize(a), action, error: error ?? null, durationMs: Date.now() - t0,
              blobs: a.blobs.map((b) => b.digest), ...(previous ? { previous } : {}),
            });
          }
          return { kind: a.kind, name: a.name, version: a.version, platform: a.platform ?? null, digest: a.digest, action, ...(error ? { error } : {}), ...(previous ? { previous } : {}) };
        }, { concurrency: opts.concurrency });
        results.push(...done.filter((r): r is UnpackedArtifact => r !== undefined));
        if (stopped) break;
        if (!opts.dryRun && half.finalize) {
          try {
            // The kind's whole state as this bundle describes it: what it brought and what it builds on.
            await half.finalize([...baseArtifacts.filter((b) => b.kind === kind), ...artifacts], ctx);
          } catch (e) {
            failures.push({ artifact: `${kind} index at ${ctx.target.name}`, error: errorText(e) });
            reporter.warn(`finishing ${kind} at ${ctx.target.name}: ${errorText(e)}`);
          }
        }
      }
    });
    await ledger?.append({
      ...base, kind: 'run', name: bundle.descriptor.name, version: '', platform: null, digest: null, size: null,
      action: 'end',
      error: stopped ? `stopped: integrity failure while publishing: ${errorText(stopped)}` : failures.length ? `${failures.length} failed` : null,
      durationMs: Date.now() - started, note: { counts, ...(stopped ? { stopped: 'integrity' } : {}) },
    });
    if (ledger) sbom = await keepSbom(bundle, opts.ledgerPath);
    if (stopped) {
      throw new IntegrityError(`unpack stopped: ${errorText(stopped)}; nothing further was published (${results.filter((r) => r.action === 'pushed').length} artifacts were pushed before, see the ledger)`, {
        subject: stopped.subject,
        hint: 'the bundle changed after it was verified: copy it again, verify it, and unpack again (what was pushed is recorded in the ledger)',
        cause: stopped,
      });
    }
  } finally {
    await closeAll();
  }
  return {
    bundle: bundle.dir,
    name: bundle.descriptor.name,
    created: bundle.descriptor.created,
    signer: bundle.signer,
    target: plan.name,
    ...(routes ? { routes } : {}),
    excluded,
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
    sbom,
  };
}

/** The IntegrityError behind a publish failure (a publisher may wrap it), if there is one. */
function integrityFailure(e: unknown): IntegrityError | undefined {
  for (let c = e, depth = 0; c && depth < 8; c = (c as { cause?: unknown }).cause, depth++) if (c instanceof IntegrityError) return c;
  return undefined;
}
