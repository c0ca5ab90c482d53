import { IntegrityError, readRegularFile, writeFileAtomic } from '@airgap/core';

/**
 * The ledger's head anchor (docs/ledger.md "The head anchor"): `<ledger>.head` holds the seq and sha256 of
 * the last record appended, rewritten atomically (temporary file, fsync, rename) after every append. A chain
 * cannot show that its newest lines were cut off; the head can: a ledger that ends before its head lost
 * records.
 */
export interface LedgerHead {
  seq: number;
  sha256: string;
  time: string;
}

/** What the ledger says about its head. `ok: false` means records are missing or the last one was rewritten. */
export interface HeadCheck {
  /** The head as read, or null when it could not be read as one. */
  head: LedgerHead | null;
  ok: boolean;
  /** Records the ledger lacks up to the head's seq (0 when the problem is a rewrite, not a cut). */
  missing: number;
  reason?: string;
}

export const headPath = (ledger: string): string => `${ledger}.head`;

const HEX64 = /^[a-f0-9]{64}$/;
const MAX_HEAD_BYTES = 4096;

/** The head anchor of `ledger`: undefined when there is none, `null` head when the file is not one. */
export async function readHead(ledger: string): Promise<{ head: LedgerHead | null; problem?: string } | undefined> {
  const path = headPath(ledger);
  let text: string;
  try {
    text = (await readRegularFile(path, { max: MAX_HEAD_BYTES, what: 'the ledger head anchor', error: IntegrityError })).toString('utf8');
  } catch (e) {
    if ((e as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return undefined;
    return { head: null, problem: (e as Error).message };
  }
  try {
    const h = JSON.parse(text) as LedgerHead;
    if (Number.isSafeInteger(h.seq) && h.seq >= 1 && typeof h.sha256 === 'string' && HEX64.test(h.sha256)) return { head: { seq: h.seq, sha256: h.sha256, time: String(h.time) } };
  } catch {
    // reported below
  }
  return { head: null, problem: `${path} is not a head anchor ({seq, sha256, time})` };
}

export async function writeHead(ledger: string, head: LedgerHead): Promise<void> {
  await writeFileAtomic(headPath(ledger), JSON.stringify(head) + '\n');
}

/**
 * Compare a ledger with its head. `lastSeq` is the seq of the ledger's last well-formed record (0 for an
 * empty ledger); `atHead` the sha256 of the record whose seq is the head's, if there is one.
 */
export function checkHead(ledger: string, read: { head: LedgerHead | null; problem?: string }, lastSeq: number, atHead: string | undefined): HeadCheck {
  const { head } = read;
  if (!head) return { head: null, ok: false, missing: 0, reason: read.problem ?? `${headPath(ledger)} is not a head anchor` };
  if (atHead === undefined) {
    if (lastSeq < head.seq) {
      const missing = head.seq - lastSeq;
      return {
        head, ok: false, missing,
        reason: `${missing} record${missing === 1 ? ' is' : 's are'} missing: its head ${headPath(ledger)} says the last record is seq ${head.seq} (written ${head.time}), the ledger ends at ${lastSeq ? `seq ${lastSeq}` : 'no record at all'}`,
      };
    }
    return { head, ok: false, missing: 0, reason: `no record with seq ${head.seq}, the last record its head ${headPath(ledger)} names: the ledger was rewritten` };
  }
  if (atHead !== head.sha256) {
    return { head, ok: false, missing: 0, reason: `the record with seq ${head.seq} no longer hashes to its head ${headPath(ledger)} (${head.sha256.slice(0, 16)}…): it was rewritten after it was written` };
  }
  return { head, ok: true, missing: 0 };
}
