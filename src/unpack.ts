import { randomUUID } from 'node:crypto';
import {
  type AirgapConfig, type Artifact, type EndpointFormat, type HttpClient, type PublishContext, type PublishHalf,
  TrustError, UsageError, artifactLabel, artifactSize, errorText,
} from '@airgap/core';
import { type PublicKey, type VerifiedBundle, verifyBundle } from '@airgap/bundle';
import { Ledger, type LedgerAction } from '@airgap/ledger';
import { ecosystems } from './ecosystems.js';
import { mapLimit } from './concurrency.js';
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
  const { reporter } = opts;
  const target = resolveTarget(opts.to, opts.config);
  const bundle = await verifyWithTrust(opts.bundleDir, opts.trust, opts.insecureSkipSignature, reporter);
  const { index } = bundle;

  const byKind = new Map<string, Artifact[]>();
  for (const a of index.artifacts) {
    if (!byKind.has(a.kind)) byKind.set(a.kind, []);
    byKind.get(a.kind)!.push(a);
  }
  const halves = new Map<string, PublishHalf>();
  const formats = new Set<EndpointFormat>();
  for (const [kind, artifacts] of byKind) {
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
  if (!driver) throw new UsageError(`targets of type ${target.type} are not supported by this airgap build`, { subject: `--to ${opts.to}` });
  const opened = await reporter.phase(`Checking target ${target.name}`, () =>
    driver.open(target, { http: opts.http, config: opts.config, log: reporter, formats, dryRun: opts.dryRun, env: process.env }),
  );

  const ctx: PublishContext = {
    target,
    blobs: bundle.blobs,
    http: opts.http,
    config: opts.config,
    log: reporter,
    progress: reporter.progress,
    bundle: { name: index.name, created: index.created },
    dryRun: opts.dryRun,
    services: opened.services,
  };

  const run = randomUUID();
  const ledger = opts.dryRun ? undefined : await Ledger.open(opts.ledgerPath);
  const base = {
    run,
    bundle: { name: bundle.descriptor.name, created: bundle.descriptor.created, sha256: bundle.bundleJsonSha256 },
    signer: bundle.signer,
    target: target.name,
  };
  const results: UnpackedArtifact[] = [];
  const counts: Record<string, number> = {};
  const failures: UnpackResult['failures'] = [];
  try {
    await ledger?.append({
      ...base, kind: 'run', name: bundle.descriptor.name, version: '', platform: null, digest: null, size: null,
      action: 'start', error: null, durationMs: null,
      note: { artifacts: index.artifacts.length, ...(opts.insecureSkipSignature ? { insecureSkipSignature: true } : {}) },
    });
    const started = Date.now();
    await reporter.phase(opts.dryRun ? 'Comparing with the target (dry run)' : `Publishing to ${target.name}`, async () => {
      reporter.progress({ type: 'phase', phase: 'publish', total: index.artifacts.length });
      for (const [kind, artifacts] of byKind) {
        const half = halves.get(kind)!;
        const done = await mapLimit(artifacts, opts.concurrency, async (a): Promise<UnpackedArtifact> => {
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
          reporter.progress({ type: 'artifact', state: action === 'would-push' ? 'skipped' : action, artifact: a, error });
          if (action !== 'would-push') {
            await ledger?.append({
              ...base, kind: a.kind, name: a.name, version: a.version, platform: a.platform ?? null, digest: a.digest,
              size: artifactSize(a), action, error: error ?? null, durationMs: Date.now() - t0,
            });
          }
          return { kind: a.kind, name: a.name, version: a.version, platform: a.platform ?? null, digest: a.digest, action, ...(error ? { error } : {}) };
        });
        results.push(...done);
        if (!opts.dryRun && half.finalize) {
          try {
            await half.finalize(artifacts, ctx);
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
    artifacts: results,
    failures,
    ledger: ledger ? opts.ledgerPath : null,
  };
}
