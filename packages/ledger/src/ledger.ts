import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type ArtifactKind, IntegrityError, type Logger, silentLogger } from '@airgap/core';
import { type HeadCheck, type LedgerHead, checkHead, headPath, readHead, writeHead } from './head.js';
import { type IntentSummary, IntentTracker, describeIntents } from './intents.js';
import { readLines } from './lines.js';

export type LedgerAction = 'pushed' | 'present' | 'failed' | 'skipped';

/** One line of the import ledger (docs/ledger.md). */
export interface LedgerRecord {
  v: 1;
  seq: number;
  time: string;
  /** Id of the unpack run this record belongs to. */
  run: string;
  bundle: { name: string; created: string; sha256: string };
  signer: string | null;
  /** `run` for the start/end records of an unpack, `intent` before a push (docs/ledger.md); otherwise the artifact kind. */
  kind: ArtifactKind | 'run' | 'intent';
  name: string;
  version: string;
  platform: string | null;
  digest: string | null;
  size: number | null;
  target: string;
  /** For artifacts: pushed|present|failed|skipped. For run records: `start` or `end`. For intents: `push`. */
  action: LedgerAction | 'start' | 'end' | 'push';
  /** Intent records: the kind of the artifact about to be pushed. */
  of?: ArtifactKind;
  error: string | null;
  durationMs: number | null;
  /** sha256 (hex) of the previous line's bytes (without its newline); null on the first line. */
  prev: string | null;
  /** Extra facts on run records (overrides such as --insecure-skip-signature or --allow-older, counts). */
  note?: Record<string, unknown>;
  /**
   * Artifact records: the digests of the artifact's blobs, so a receipt can list every blob known to be
   * inside (docs/ledger.md). Absent on run records and on records written before it existed.
   */
  blobs?: string[];
  /**
   * `pushed` image records whose tag pointed to another digest at the target: that digest. The push
   * moved the tag (docs/oci.md "Moved tags"); absent when nothing was moved.
   */
  previous?: string;
}

export type LedgerEntry = Omit<LedgerRecord, 'v' | 'seq' | 'time' | 'prev'>;

export function lineHash(line: string): string {
  return createHash('sha256').update(line).digest('hex');
}

const ACTIONS = new Set(['pushed', 'present', 'failed', 'skipped', 'start', 'end', 'push']);
const HEX64 = /^[a-f0-9]{64}$/;

/** Why a parsed line is not a ledger record, or undefined when it is one. */
export function recordProblem(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'not a JSON object';
  const o = r as Record<string, unknown>;
  if (o.v !== 1) return `unknown record version ${JSON.stringify(o.v)}`;
  if (!Number.isSafeInteger(o.seq)) return 'seq is not an integer';
  if (typeof o.time !== 'string' || Number.isNaN(Date.parse(o.time))) return 'time is not a date';
  if (typeof o.kind !== 'string' || typeof o.name !== 'string') return 'kind and name must be strings';
  if (typeof o.action !== 'string' || !ACTIONS.has(o.action)) return `unknown action ${JSON.stringify(o.action)}`;
  const b = o.bundle as Record<string, unknown> | null;
  if (typeof b !== 'object' || b === null || typeof b.name !== 'string' || typeof b.created !== 'string') return 'bundle must be {name, created, sha256}';
  if (o.prev !== null && (typeof o.prev !== 'string' || !HEX64.test(o.prev))) return 'prev is not a sha256';
  if (o.previous !== undefined && (typeof o.previous !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(o.previous))) return 'previous is not a digest';
  return undefined;
}

/** The first line that breaks the ledger, and why. */
export interface LedgerFault {
  line: number;
  reason: string;
}

/** One pass over a ledger: the chain checked line by line, and what later steps need to know. */
export interface LedgerScan {
  path: string;
  /** Complete, well-formed lines before any fault (all of them when the ledger is intact). */
  records: number;
  /** The last good line: its seq, text hash and byte offset after its newline. */
  last: { seq: number; sha256: string; end: number } | null;
  /** The first line that is not a well-formed record continuing the chain (not counting a torn tail). */
  fault: LedgerFault | null;
  /**
   * A last line cut short by a crash while it was being written: no newline at its end, or not JSON.
   * It is not part of the chain; the next unpack truncates it.
   */
  torn: (LedgerFault & { offset: number; bytes: number }) | null;
  /** The seq of the last well-formed record, also past a fault (0 for an empty ledger). */
  lastSeq: number;
  /** sha256 of the first record's line: the ledger's identity (docs/ledger.md "One ledger per target"). */
  first: string | null;
  /** The ledger against its head anchor `<ledger>.head`; null when there is no head file (docs/ledger.md). */
  head: HeadCheck | null;
  /** Intent records no result of their run answers: sends of interrupted runs. */
  intents: IntentSummary;
}

/**
 * Read a ledger once, checking every line: JSON, a record, `seq` one more than the line before (starting
 * at 1), `prev` the sha256 of the line before (null on the first). Calls `onRecord` for every
 * well-formed record, also after a chain fault (freshness must still see every bundle recorded).
 */
export async function scanLedger(path: string, onRecord?: (r: LedgerRecord, line: number, sha256: string) => void): Promise<LedgerScan> {
  const scan: LedgerScan = { path, records: 0, last: null, fault: null, torn: null, lastSeq: 0, first: null, head: null, intents: { count: 0, unsettled: 0, list: [] } };
  const head = await readHead(path);
  let atHead: string | undefined;
  const intents = new IntentTracker();
  const seen = (rec: LedgerRecord, no: number, sha256: string) => {
    scan.lastSeq = rec.seq;
    if (rec.seq === 1 && scan.first === null) scan.first = sha256;
    if (head?.head && rec.seq === head.head.seq && atHead === undefined) atHead = sha256;
    intents.see(rec, no);
    onRecord?.(rec, no, sha256);
  };
  let prevHash: string | null = null;
  let prevSeq = 0;
  let pendingBad: (LedgerFault & { offset: number; bytes: number; terminated: boolean }) | null = null;
  for await (const line of readLines(path)) {
    // A bad line is only "torn" if nothing follows it; so decide about it when the next line arrives.
    if (pendingBad) {
      if (!scan.fault) scan.fault = { line: pendingBad.line, reason: pendingBad.reason };
      pendingBad = null;
    }
    const bytes = Buffer.byteLength(line.text) + (line.terminated ? 1 : 0);
    if (!line.terminated) {
      pendingBad = { line: line.no, reason: 'the last line has no newline: it was cut short while being written (crash?)', offset: line.offset, bytes, terminated: false };
      continue;
    }
    let rec: LedgerRecord;
    try {
      rec = JSON.parse(line.text) as LedgerRecord;
    } catch (e) {
      pendingBad = { line: line.no, reason: line.text.length ? `not JSON (${(e as Error).message})` : 'empty line', offset: line.offset, bytes, terminated: true };
      continue;
    }
    const problem = recordProblem(rec);
    if (problem) {
      if (!scan.fault) scan.fault = { line: line.no, reason: problem };
      continue;
    }
    const sha256 = lineHash(line.text);
    if (scan.fault) {
      seen(rec, line.no, sha256);
      continue;
    }
    if (rec.seq !== prevSeq + 1) {
      scan.fault = { line: line.no, reason: `seq is ${rec.seq}, expected ${prevSeq + 1}: a line before it was deleted or lines were reordered` };
      continue;
    }
    if (rec.prev !== prevHash) {
      scan.fault = {
        line: line.no,
        reason: prevHash === null
          ? 'the first record must have prev null'
          : `prev does not match the sha256 of line ${line.no - 1}: line ${line.no - 1} was changed, or a line was deleted or moved`,
      };
      continue;
    }
    prevHash = sha256;
    prevSeq = rec.seq;
    scan.records++;
    scan.last = { seq: rec.seq, sha256, end: line.offset + bytes };
    seen(rec, line.no, sha256);
  }
  if (pendingBad) scan.torn = { line: pendingBad.line, reason: pendingBad.reason, offset: pendingBad.offset, bytes: pendingBad.bytes };
  if (head) scan.head = checkHead(path, head, scan.lastSeq, atHead);
  scan.intents = intents.summary();
  return scan;
}

/** The newest bundle of each name that the ledger records (docs/security.md freshness, §8 receipts). */
export type NewestBundles = Map<string, { created: string; sha256: string }>;

export function noteBundle(newest: NewestBundles, b: LedgerRecord['bundle']): void {
  const seen = newest.get(b.name);
  if (!seen || Date.parse(b.created) > Date.parse(seen.created)) newest.set(b.name, { created: b.created, sha256: b.sha256 });
}

/** Newest bundle per name, for each target the ledger records (freshness is per name and target, docs/ledger.md). */
export type NewestBundlesByTarget = Map<string, NewestBundles>;

export function noteBundleAt(byTarget: NewestBundlesByTarget, r: Pick<LedgerRecord, 'bundle' | 'target'>): void {
  if (typeof r.target !== 'string') return;
  let m = byTarget.get(r.target);
  if (!m) byTarget.set(r.target, (m = new Map()));
  noteBundle(m, r.bundle);
}

export interface LedgerOpenOptions {
  log?: Logger;
  /**
   * `unpack --repair-ledger`: accept a ledger shorter than its head (or whose head record was rewritten),
   * keep the old head aside and go on from the ledger's real last record (docs/ledger.md).
   */
  repair?: boolean;
}

/** What `--repair-ledger` accepted, for the run's start record. */
export interface LedgerRepair {
  reason: string;
  missing: number;
  head: LedgerHead | null;
  /** Where the replaced head was kept. */
  keptAs: string;
}

/**
 * The import ledger: append-only JSON Lines, each line chained to the previous by `prev` and
 * fsynced before append() returns, so a crash loses at most the record being written.
 * Callers hold the ledger lock (lock.ts) while a Ledger is open for appending.
 */
export class Ledger {
  private queue: Promise<void> = Promise.resolve();
  private firstHash: string | null = null;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    private seq: number,
    private prevHash: string | null,
    /** Newest bundle per name among the records read at open. */
    readonly bundles: NewestBundles,
    readonly scan: LedgerScan,
    /** The same, per target. */
    readonly bundlesByTarget: NewestBundlesByTarget,
    /** Set when --repair-ledger accepted a ledger shorter than its head. */
    readonly repaired: LedgerRepair | null,
  ) {}

  /**
   * Open for appending. A torn last line (a crash while it was written) is copied aside to
   * `<ledger>.torn-<time>` and truncated, with a warning (docs/ledger.md). A fault further up is not
   * repaired (that is for an auditor to look at): it is reported and the chain continues from the last line.
   */
  static async open(path: string, opts: LedgerOpenOptions = {}): Promise<Ledger> {
    const log = opts.log ?? silentLogger;
    await mkdir(dirname(path), { recursive: true });
    const bundles: NewestBundles = new Map();
    const bundlesByTarget: NewestBundlesByTarget = new Map();
    let lastLine = null as { seq: number; text?: string } | null;
    const scan = await scanLedger(path, (r) => {
      noteBundle(bundles, r.bundle);
      noteBundleAt(bundlesByTarget, r);
    });
    // Checked before anything changes the file: a cut ledger is evidence, not something to tidy up.
    const repaired = await checkOpenHead(path, scan, opts.repair === true, log);
    if (scan.intents.count) log.warn(`ledger ${path}: ${describeIntents(scan.intents)}`);
    if (scan.torn) {
      const aside = `${path}.torn-${new Date().toISOString().replace(/[:.]/g, '')}`;
      const fh = await open(path, 'r');
      try {
        const buf = Buffer.alloc(scan.torn.bytes);
        await fh.read(buf, 0, buf.length, scan.torn.offset);
        await writeFile(aside, buf);
      } finally {
        await fh.close();
      }
      await truncate(path, scan.torn.offset);
      log.warn(`ledger ${path} line ${scan.torn.line}: ${scan.torn.reason}; truncated it (its bytes are kept in ${aside}). An interrupted unpack re-run records what it finds as present`);
    }
    if (scan.fault) {
      log.warn(`ledger ${path} line ${scan.fault.line}: ${scan.fault.reason}. Appending goes on; run airgap ledger verify ${path} and keep a copy for the audit`);
      // Continue the chain from the real last line so new records stay linked to what is in the file.
      for await (const l of readLines(path)) {
        if (!l.terminated) break;
        try {
          const r = JSON.parse(l.text) as LedgerRecord;
          lastLine = { seq: Number.isSafeInteger(r.seq) ? r.seq : (lastLine?.seq ?? 0), text: l.text };
        } catch {
          // an unparsable middle line: the hash chain still links to whatever came last
          lastLine = { seq: lastLine?.seq ?? 0, text: l.text };
        }
      }
    }
    const fh = await open(path, 'a');
    await fh.sync();
    let seq = scan.last?.seq ?? 0;
    let prev = scan.last?.sha256 ?? null;
    if (lastLine?.text !== undefined) {
      seq = lastLine.seq;
      prev = lineHash(lastLine.text);
    }
    const ledger = new Ledger(path, fh, seq, prev, bundles, scan, bundlesByTarget, repaired);
    // A ledger from before the head anchor, or one --repair-ledger accepted: anchor it where it ends now.
    if (prev !== null && (!scan.head || !scan.head.ok)) await writeHead(path, { seq, sha256: prev, time: new Date().toISOString() });
    return ledger;
  }

  /**
   * Append one record and fsync it. Calls are serialized: unpack publishes with bounded concurrency, and
   * each record's seq and prev depend on the one written before it.
   */
  append(entry: LedgerEntry): Promise<LedgerRecord> {
    const next = this.queue.then(async () => {
      const record: LedgerRecord = { v: 1, seq: this.seq + 1, time: new Date().toISOString(), ...entry, prev: this.prevHash };
      const line = JSON.stringify(record);
      await this.fh.appendFile(line + '\n');
      await this.fh.sync();
      this.seq = record.seq;
      this.prevHash = lineHash(line);
      if (record.seq === 1) this.firstHash = this.prevHash;
      // The head follows the ledger, never leads it: a crash between the two leaves a head one record behind.
      await writeHead(this.path, { seq: record.seq, sha256: this.prevHash, time: record.time });
      return record;
    });
    // A failed write fails its caller; the next append still runs (and would fail too if the disk is gone).
    this.queue = next.then(() => undefined, () => undefined);
    return next;
  }

  /** The ledger's identity: the sha256 of its first record's line (null while it is empty). */
  get id(): string | null {
    return this.scan.first ?? this.firstHash;
  }

  /** The last record written: its seq and line sha256 (null while the ledger is empty). */
  get last(): { seq: number; sha256: string } | null {
    return this.prevHash === null ? null : { seq: this.seq, sha256: this.prevHash };
  }

  async close(): Promise<void> {
    await this.queue;
    await this.fh.close();
  }
}

/** Every well-formed record (for small ledgers and tests). */
export async function readLedger(path: string): Promise<LedgerRecord[]> {
  const out: LedgerRecord[] = [];
  await scanLedger(path, (r) => out.push(r));
  return out;
}

/**
 * A ledger shorter than its head lost records (cut off, deleted): refused, exit 3, naming how many, unless
 * `--repair-ledger`, which keeps the old head aside and returns what it accepted (docs/ledger.md).
 */
async function checkOpenHead(path: string, scan: LedgerScan, repair: boolean, log: Logger): Promise<LedgerRepair | null> {
  if (!scan.head) {
    if (scan.lastSeq > 0) log.warn(`ledger ${path} has no head anchor ${headPath(path)} (a ledger from before it existed, or the head was removed); writing one now`);
    return null;
  }
  if (scan.head.ok) return null;
  const reason = scan.head.reason ?? 'the ledger does not match its head';
  if (!repair) {
    throw new IntegrityError(`ledger ${path}: ${reason}`, {
      subject: path,
      hint: `the ledger was cut short or rewritten: keep this copy and ${headPath(path)} for the audit and restore the ledger from a backup; or run unpack with --repair-ledger to go on from its last record (recorded in the ledger)`,
    });
  }
  const keptAs = `${headPath(path)}.replaced-${new Date().toISOString().replace(/[:.]/g, '')}`;
  await copyFile(headPath(path), keptAs).catch(() => undefined);
  log.warn(`--repair-ledger: ledger ${path}: ${reason}; going on from its last record (the old head is kept in ${keptAs}; the run's start record notes the repair)`);
  return { reason, missing: scan.head.missing, head: scan.head.head, keptAs };
}
