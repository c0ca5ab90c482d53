import { randomUUID } from 'node:crypto';
import {
  type AirgapConfig, type Artifact, type HttpClient, type PublishHalf, IntegrityError, Transfers, errorText,
} from '@airgap/core';
import { type PublicKey, checkBundleFiles } from '@airgap/bundle';
import { Ledger, type LedgerAction, type NewestBundlesByTarget, acquireLock, noteBundleAt, scanLedger } from '@airgap/ledger';
import { ecosystems } from './ecosystems.js';
import { checkExternal } from './external.js';
import { keepSbom } from './sbom-copy.js';
import type { Reporter } from './report.js';
import { UnpackPlan } from './route.js';
import { type OpenedTarget, formatsByTarget, openTarget } from './publish-targets.js';
import { PublishRun } from './publish-run.js';
import { type MirrorGuard, guardDirTargets } from './target-lock.js';
import { checkBase, checkFreshness } from './unpack-checks.js';
import { checkBundleDir, verifyWithTrust } from './verify-run.js';

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
  /** docs/ledger.md: go on with a ledger shorter than its head (recorded in the run's start record). */
  repairLedger?: boolean;
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
  /** Dry run: the artifact this one's content is counted under (the same image by tag and by digest). */
  sameAs?: string;
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
  // A path that is no bundle folder at all is a usage error (exit 2, docs/exit-codes.md); a FIFO or
  // device among the bundle's files is refused (exit 3) before any lock is taken (docs/security.md).
  await checkBundleDir(opts.bundleDir);
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
    // A target spoken to over HTTP: its client is loaded while the parts are hashed (on worker threads),
    // not after (docs/transfers.md); nothing is sent before verification ends.
    if (plan.targets().some((t) => t.type !== 'dir')) opts.http.warm();
    if (!d.kinds) return;
    await plan.prepare(Object.keys(d.kinds));
    plan.check(Object.keys(d.kinds), opts.config, process.env);
  });
  const { index } = bundle;

  const { ledger, newest } = await openLedger(opts);
  const opened = new Map<string, OpenedTarget>();
  let guard: MirrorGuard | undefined;
  const closeAll = async () => {
    await ledger?.close();
    await guard?.release();
    for (const o of opened.values()) await o.close?.();
  };
  let allowedOlder: UnpackResult['allowedOlder'] = null;
  const baseArtifacts = (index.base ?? []).filter((a) => plan.included(a.kind));
  const { byKind, excluded } = groupByKind(index.artifacts, plan);
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
    for (const kind of kinds) halves.set(kind, plan.half(kind));
    const formats = formatsByTarget(plan, halves, (kind) => [...(byKind.get(kind) ?? []), ...baseArtifacts.filter((b) => b.kind === kind)]);
    const shared = {
      http: opts.http, config: opts.config, log: reporter, progress: reporter.progress, dryRun: opts.dryRun, env: process.env,
      blobs: bundle.blobs, bundle: { name: index.name, created: index.created }, concurrency: opts.concurrency, transfer,
    };
    // One ledger per mirror: a dir target is locked (and its last ledger checked) before it is opened.
    if (ledger) guard = await guardDirTargets(plan.targets().filter((t) => formats.has(t.name)), ledger, reporter);
    for (const target of plan.targets().filter((t) => formats.has(t.name))) {
      opened.set(target.name, await reporter.phase(`Checking target ${target.name}`, () => openTarget(target, formats.get(target.name)!, shared)));
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
  let sbom: string | null = null;
  const pub = new PublishRun({ dryRun: opts.dryRun, concurrency: opts.concurrency, reporter, ledger, base, guard });
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
        ...(ledger?.repaired ? { repairedLedger: ledger.repaired } : {}),
      },
    });
    const total = [...byKind.values()].reduce((n, l) => n + l.length, 0);
    await reporter.phase(opts.dryRun ? 'Comparing with the target (dry run)' : `Publishing to ${plan.name}`, async () => {
      reporter.progress({ type: 'phase', phase: 'publish', total });
      for (const [kind, artifacts] of byKind) {
        if (pub.stopped) break;
        await pub.kind(kind, artifacts, [...baseArtifacts.filter((b) => b.kind === kind), ...artifacts], halves.get(kind)!, ctxOf(kind));
      }
    });
    const { stopped, failures, counts, results } = pub;
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
    counts: pub.counts,
    countsByKind: pub.countsByKind,
    bytes: pub.bytes,
    durationMs: Date.now() - started,
    base: bundle.descriptor.base ?? null,
    baseArtifacts: baseArtifacts.length,
    allowedOlder,
    artifacts: pub.results,
    failures: pub.failures,
    ledger: ledger ? opts.ledgerPath : null,
    sbom,
  };
}

/** The ledger, opened (and a torn last line repaired) before anything is published; a dry run only reads it. */
async function openLedger(opts: UnpackOptions): Promise<{ ledger?: Ledger; newest: NewestBundlesByTarget }> {
  if (!opts.dryRun) {
    const ledger = await Ledger.open(opts.ledgerPath, { log: opts.reporter, repair: opts.repairLedger });
    return { ledger, newest: ledger.bundlesByTarget };
  }
  const newest: NewestBundlesByTarget = new Map();
  const scan = await scanLedger(opts.ledgerPath, (r) => noteBundleAt(newest, r));
  if (scan.head && !scan.head.ok) opts.reporter.warn(`ledger ${opts.ledgerPath}: ${scan.head.reason} (a real run refuses it, exit 3, unless --repair-ledger)`);
  return { newest };
}

/** The index's artifacts per kind, in index order; what --only / --exclude leave out is only counted. */
function groupByKind(artifacts: Artifact[], plan: UnpackPlan): { byKind: Map<string, Artifact[]>; excluded: Record<string, number> } {
  const byKind = new Map<string, Artifact[]>();
  const excluded: Record<string, number> = {};
  for (const a of artifacts) {
    if (!plan.included(a.kind)) excluded[a.kind] = (excluded[a.kind] ?? 0) + 1;
    else if (byKind.has(a.kind)) byKind.get(a.kind)!.push(a);
    else byKind.set(a.kind, [a]);
  }
  return { byKind, excluded };
}
