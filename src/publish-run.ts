import { type Artifact, type PublishContext, type PublishHalf, IntegrityError, UsageError, artifactLabel, artifactSize, errorText } from '@airgap/core';
import type { Ledger, LedgerEntry } from '@airgap/ledger';
import pMap from 'p-map';
import type { Reporter } from './report.js';
import { publishPath } from './target-paths.js';
import type { MirrorGuard } from './target-lock.js';
import type { UnpackResult, UnpackedArtifact } from './unpack.js';

/** What every ledger record of one run carries (docs/ledger.md). */
export type RunRecordBase = Pick<LedgerEntry, 'run' | 'bundle' | 'signer' | 'target'>;

/**
 * The publish phase of one unpack (docs/design.md "Publishing"): per artifact, `exists` at its target, then
 * `publish` what is absent (never in a dry run); one failure does not stop the others, an integrity failure
 * stops the run. Every action goes to the ledger; the tallies make the run's summary.
 */
export class PublishRun {
  readonly results: UnpackedArtifact[] = [];
  readonly counts: Record<string, number> = {};
  readonly countsByKind: Record<string, Record<string, number>> = {};
  readonly failures: UnpackResult['failures'] = [];
  bytes = 0;
  /** An integrity failure while publishing (a part changed after verification): nothing further is published (docs/security.md). */
  stopped?: IntegrityError;
  /** Never overwrite within one run (a bundle packed before pack refused two entries with one path). */
  private readonly claimed = new Map<string, Artifact>();
  /** Dry run: the content already counted as would-push, per target (a real run sends it once). */
  private readonly wouldSend = new Map<string, Artifact>();

  constructor(private readonly o: { dryRun: boolean; concurrency: number; reporter: Reporter; ledger?: Ledger; base: RunRecordBase; guard?: MirrorGuard }) {}

  /** Publish the artifacts of one kind, then let its publisher finish (indexes) over `all` (base artifacts included). */
  async kind(kind: string, artifacts: Artifact[], all: Artifact[], half: PublishHalf, ctx: PublishContext): Promise<void> {
    // p-map queues artifacts; each push inside waits for the transfer engine's one limit (docs/transfers.md).
    const done = await pMap(artifacts, (a) => this.artifact(a, half, ctx), { concurrency: this.o.concurrency });
    this.results.push(...done.filter((r): r is UnpackedArtifact => r !== undefined));
    if (this.stopped || this.o.dryRun || !half.finalize) return;
    try {
      // The kind's whole state as this bundle describes it: what it brought and what it builds on.
      await half.finalize(all, ctx);
    } catch (e) {
      this.failures.push({ artifact: `${kind} index at ${ctx.target.name}`, error: errorText(e) });
      this.o.reporter.warn(`finishing ${kind} at ${ctx.target.name}: ${errorText(e)}`);
    }
  }

  private async artifact(a: Artifact, half: PublishHalf, ctx: PublishContext): Promise<UnpackedArtifact | undefined> {
    if (this.stopped) return undefined;
    const t0 = Date.now();
    let action: UnpackedArtifact['action'];
    let error: string | undefined;
    let previous: string | undefined;
    let sameAs: Artifact | undefined;
    // Taken before the first await, so "the first" is the first in the bundle's order, not the first answered.
    const first = this.o.dryRun ? this.firstOfContent(a, ctx) : undefined;
    try {
      this.claim(a, ctx);
      const presence = await half.exists(a, ctx);
      if (presence === 'present') action = 'present';
      else if (this.o.dryRun) {
        action = 'would-push';
        sameAs = first;
      }
      else {
        // The intent comes first: a run killed during the push leaves it without a result (docs/ledger.md).
        await this.o.ledger?.append({ ...this.o.base, ...artifactFields(a, ctx.target.name), kind: 'intent', of: a.kind, action: 'push', error: null, durationMs: null });
        previous = (await half.publish(a, ctx))?.previous;
        action = 'pushed';
        this.o.guard?.changed(ctx.target.name);
      }
    } catch (e) {
      action = 'failed';
      error = errorText(e);
      this.failures.push({ artifact: artifactLabel(a), error });
      const integrity = integrityFailure(e);
      if (integrity) this.stopped ??= integrity;
    }
    if (!sameAs) this.tally(a, action);
    this.o.reporter.progress({ type: 'artifact', state: action, artifact: a, error, ...(sameAs ? { sameAs: artifactLabel(sameAs) } : {}) });
    if (action !== 'would-push') {
      await this.o.ledger?.append({ ...this.o.base, ...artifactFields(a, ctx.target.name), action, error: error ?? null, durationMs: Date.now() - t0, ...(previous ? { previous } : {}) });
    }
    return { kind: a.kind, name: a.name, version: a.version, platform: a.platform ?? null, digest: a.digest, action, ...(error ? { error } : {}), ...(previous ? { previous } : {}), ...(sameAs ? { sameAs: artifactLabel(sameAs) } : {}) };
  }

  /**
   * Dry run: the artifact before this one in the bundle with the same kind, name, platform and digest at
   * this target (an image listed by tag and by digest), else undefined. A real run sends that content once.
   */
  private firstOfContent(a: Artifact, ctx: PublishContext): Artifact | undefined {
    const key = [ctx.target.name, a.kind, a.name, a.platform ?? '', a.digest].join('\0');
    const first = this.wouldSend.get(key);
    if (!first) this.wouldSend.set(key, a);
    return first;
  }

  private claim(a: Artifact, ctx: PublishContext): void {
    const path = publishPath(a);
    if (path === undefined) return;
    const key = `${ctx.target.name}\0${path}`;
    const owner = this.claimed.get(key);
    if (owner && owner.digest !== a.digest) {
      throw new UsageError(`${artifactLabel(a)}: ${artifactLabel(owner)} of this bundle has the same target path with other content; not overwritten`);
    }
    if (!owner) this.claimed.set(key, a);
  }

  private tally(a: Artifact, action: UnpackedArtifact['action']): void {
    this.counts[action] = (this.counts[action] ?? 0) + 1;
    this.countsByKind[a.kind] ??= {};
    this.countsByKind[a.kind][action] = (this.countsByKind[a.kind][action] ?? 0) + 1;
    if (action === 'pushed') this.bytes += artifactSize(a);
  }
}

/** The IntegrityError behind a publish failure (a publisher may wrap it), if there is one. */
function integrityFailure(e: unknown): IntegrityError | undefined {
  for (let c = e, depth = 0; c && depth < 8; c = (c as { cause?: unknown }).cause, depth++) if (c instanceof IntegrityError) return c;
  return undefined;
}

/** The fields an artifact's records carry (its result and the intent before a push). */
function artifactFields(a: Artifact, target: string) {
  return {
    target, kind: a.kind, name: a.name, version: a.version, platform: a.platform ?? null, digest: a.digest,
    size: artifactSize(a), blobs: a.blobs.map((b) => b.digest),
  };
}
