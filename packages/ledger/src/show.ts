import { UsageError } from '@airgap/core';
import { type LedgerRecord, scanLedger } from './ledger.js';

export interface LedgerShowFilter {
  /** Only records of bundles with this name. */
  bundle?: string;
  /** Only records at or after this time. */
  since?: Date;
}

/** One row of `airgap ledger show`. */
export interface LedgerRow {
  seq: number;
  time: string;
  /** `intent` for an intent record (docs/ledger.md): a push about to start; its result is a later row. */
  action: LedgerRecord['action'] | 'intent';
  kind: LedgerRecord['kind'];
  name: string;
  version: string;
  platform: string | null;
  target: string;
  bundle: string;
  digest: string | null;
  error: string | null;
}

/** `--since DATE`: an ISO date or date-time (a date alone is midnight UTC). */
export function parseSince(text: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(text + 'T00:00:00Z') : new Date(text);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since ${JSON.stringify(text)} is not a date`, { subject: '--since', hint: 'use an ISO date such as 2026-11-24 or 2026-11-24T10:15:00Z' });
  return d;
}

/** The rows of `airgap ledger show FILE [--bundle NAME] [--since DATE]`, oldest first. */
export async function showLedger(path: string, filter: LedgerShowFilter = {}): Promise<LedgerRow[]> {
  const rows: LedgerRow[] = [];
  const since = filter.since?.getTime();
  await scanLedger(path, (r) => {
    if (filter.bundle !== undefined && r.bundle.name !== filter.bundle) return;
    if (since !== undefined && Date.parse(r.time) < since) return;
    rows.push({
      seq: r.seq,
      time: r.time,
      // An intent row names the artifact's kind, like the result row that answers it.
      action: r.kind === 'intent' ? 'intent' : r.action,
      kind: r.kind === 'intent' ? (r.of ?? 'intent') : r.kind,
      name: r.name,
      version: r.version,
      platform: r.platform,
      target: r.target,
      bundle: `${r.bundle.name}@${r.bundle.created}`,
      digest: r.digest,
      error: r.error,
    });
  });
  return rows;
}

/** A plain-text table: time, action, kind, name, version, platform, target, bundle (and the error, if any). */
export function formatLedgerTable(rows: LedgerRow[]): string {
  const head = ['TIME', 'ACTION', 'KIND', 'NAME', 'VERSION', 'PLATFORM', 'TARGET', 'BUNDLE'];
  const cells = rows.map((r) => [
    r.time.replace(/\.\d{3}Z$/, 'Z'), r.action, r.kind, r.name, r.version, r.platform ?? '', r.target, r.bundle,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const lines = [head, ...cells].map((c) => c.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd());
  rows.forEach((r, i) => {
    if (r.error) lines[i + 1] += `\n    error: ${r.error}`;
  });
  return lines.join('\n');
}
