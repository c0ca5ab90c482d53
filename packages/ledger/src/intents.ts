import type { LedgerRecord } from './ledger.js';

/**
 * An `intent` record (docs/ledger.md "Intent records") that no result record of its run answers: the run
 * was interrupted (killed, power loss) while it sent that artifact. Whether the bytes arrived is for the
 * target to say; a later run that records the artifact at the same target as pushed or present settles it.
 */
export interface OpenIntent {
  seq: number;
  line: number;
  time: string;
  run: string;
  kind: string;
  name: string;
  version: string;
  platform: string | null;
  digest: string | null;
  target: string;
  /** Seq of a later record (another run) that found or pushed the artifact at that target; null if none. */
  settledBy: number | null;
}

export interface IntentSummary {
  /** Intents without a result in their own run. */
  count: number;
  /** Of those, how many no later run settled. */
  unsettled: number;
  /** The first of them (at most LISTED), oldest first. */
  list: OpenIntent[];
}

const LISTED = 100;

const artifactKey = (kind: string, r: Pick<LedgerRecord, 'name' | 'version' | 'platform' | 'digest' | 'target'>) =>
  [r.target, kind, r.name, r.version, r.platform ?? '', r.digest ?? ''].join('\u0000');

/** Follows a ledger record by record (scanLedger) and keeps the intents still waiting for their result. */
export class IntentTracker {
  /** run + artifact → the intent; normally at most --concurrency entries per run at a time. */
  private readonly waiting = new Map<string, OpenIntent>();
  /** Intents whose run went on to its end record without answering them. */
  private readonly unanswered: OpenIntent[] = [];

  see(r: LedgerRecord, line: number): void {
    if (r.kind === 'intent') {
      const key = artifactKey(r.of ?? '', r);
      this.waiting.set(`${r.run}\u0000${key}`, {
        seq: r.seq, line, time: r.time, run: r.run, kind: r.of ?? '', name: r.name, version: r.version,
        platform: r.platform, digest: r.digest, target: r.target, settledBy: null,
      });
      return;
    }
    if (r.kind === 'run') {
      if (r.action !== 'end') return;
      for (const [k, i] of this.waiting) {
        if (i.run !== r.run) continue;
        this.unanswered.push(i);
        this.waiting.delete(k);
      }
      return;
    }
    const key = artifactKey(r.kind, r);
    // The result of its own run answers an intent; a push or present of a later run settles an open one.
    this.waiting.delete(`${r.run}\u0000${key}`);
    if (r.action !== 'pushed' && r.action !== 'present') return;
    for (const i of [...this.waiting.values(), ...this.unanswered]) {
      if (i.settledBy === null && i.run !== r.run && artifactKey(i.kind, i) === key) i.settledBy = r.seq;
    }
  }

  summary(): IntentSummary {
    const all = [...this.unanswered, ...this.waiting.values()].sort((a, b) => a.seq - b.seq);
    return { count: all.length, unsettled: all.filter((i) => i.settledBy === null).length, list: all.slice(0, LISTED) };
  }
}

/** One line about intents without a result, for warnings and `ledger verify`. */
export function describeIntents(s: IntentSummary): string {
  const first = s.list[0];
  const where = first ? ` (the first: seq ${first.seq}, ${first.kind} ${first.name}${first.version ? `@${first.version}` : ''} → ${first.target}, run ${first.run} at ${first.time})` : '';
  const settled = s.count - s.unsettled;
  return `${s.count} send${s.count === 1 ? '' : 's'} of interrupted runs ha${s.count === 1 ? 's' : 've'} no result${where}; ` +
    (s.unsettled ? `${settled} of them a later run found or pushed at the target, ${s.unsettled} not yet (the next unpack of that bundle checks them)` : 'a later run found or pushed every one of them at the target');
}
