import { stat } from 'node:fs/promises';
import { UsageError } from '@airgap/core';
import type { HeadCheck } from './head.js';
import type { IntentSummary } from './intents.js';
import { type LedgerFault, scanLedger } from './ledger.js';

/** A point of the chain recorded elsewhere (a receipt sent outside): line `seq` must still hash to `sha256`. */
export interface LedgerAnchor {
  seq: number;
  sha256: string;
}

export interface LedgerVerification {
  ledger: string;
  /** True when every line is a record continuing the chain, no line is torn and the anchor (if any) holds. */
  ok: boolean;
  records: number;
  last: { seq: number; sha256: string } | null;
  /** The first bad line (1-based) and why. */
  fault: LedgerFault | null;
  /** A last line cut short by a crash (reported apart from tampering; the next unpack truncates it). */
  torn: LedgerFault | null;
  anchor: (LedgerAnchor & { ok: boolean; reason?: string }) | null;
  /** The ledger against its head anchor `<ledger>.head` (null: no head file); not ok when records are missing. */
  head: HeadCheck | null;
  /** Sends of interrupted runs: intent records without a result in their run (reported, not a fault). */
  intents: IntentSummary;
}

/**
 * `airgap ledger verify` (docs/ledger.md): JSON of every line, `seq` continuity, the `prev` chain, a torn last
 * line, and optionally an anchor from a receipt. A chain alone cannot show that its newest lines were
 * rewritten or cut off (docs/ledger.md): the anchor can, up to the point the receipt was made.
 */
export async function verifyLedger(path: string, anchor?: LedgerAnchor): Promise<LedgerVerification> {
  try {
    if (!(await stat(path)).isFile()) throw new Error('not a file');
  } catch {
    throw new UsageError(`ledger ${path} does not exist or is not a file`, { subject: path, hint: 'pass the ledger file unpack writes (--ledger, or ledger: in the config)' });
  }
  let anchorResult: LedgerVerification['anchor'] = null;
  let anchorLine: { line: number; sha256: string } | undefined;
  const scan = await scanLedger(path, (r, line, sha256) => {
    if (anchor && r.seq === anchor.seq && !anchorLine) anchorLine = { line, sha256 };
  });
  if (anchor) {
    if (!anchorLine) anchorResult = { ...anchor, ok: false, reason: `no record with seq ${anchor.seq}: the ledger was cut short or replaced since the receipt was made` };
    else if (anchorLine.sha256 !== anchor.sha256) anchorResult = { ...anchor, ok: false, reason: `line ${anchorLine.line} (seq ${anchor.seq}) no longer hashes to the receipt's ${anchor.sha256.slice(0, 16)}…: it or a line before it was rewritten` };
    else anchorResult = { ...anchor, ok: true };
  }
  return {
    ledger: path,
    ok: !scan.fault && !scan.torn && (anchorResult?.ok ?? true) && (scan.head?.ok ?? true),
    records: scan.records,
    last: scan.last ? { seq: scan.last.seq, sha256: scan.last.sha256 } : null,
    fault: scan.fault,
    torn: scan.torn ? { line: scan.torn.line, reason: scan.torn.reason } : null,
    anchor: anchorResult,
    head: scan.head,
    intents: scan.intents,
  };
}
