import { createHash } from 'node:crypto';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ArtifactKind } from '@airgap/core';

export type LedgerAction = 'pushed' | 'present' | 'failed' | 'skipped';

/** One line of the import ledger (SPEC §8). */
export interface LedgerRecord {
  v: 1;
  seq: number;
  time: string;
  /** Id of the unpack run this record belongs to. */
  run: string;
  bundle: { name: string; created: string; sha256: string };
  signer: string | null;
  /** `run` for the start/end records of an unpack; otherwise the artifact kind. */
  kind: ArtifactKind | 'run';
  name: string;
  version: string;
  platform: string | null;
  digest: string | null;
  size: number | null;
  target: string;
  /** For artifacts: pushed|present|failed|skipped. For run records: `start` or `end`. */
  action: LedgerAction | 'start' | 'end';
  error: string | null;
  durationMs: number | null;
  /** sha256 (hex) of the previous line's bytes (without its newline); null on the first line. */
  prev: string | null;
  /** Extra facts on run records (overrides such as --insecure-skip-signature, counts). */
  note?: Record<string, unknown>;
}

export type LedgerEntry = Omit<LedgerRecord, 'v' | 'seq' | 'time' | 'prev'>;

export function lineHash(line: string): string {
  return createHash('sha256').update(line).digest('hex');
}

/**
 * The import ledger: append-only JSON Lines, each line chained to the previous by `prev` and
 * fsynced before append() returns, so a crash loses at most the record being written.
 */
export class Ledger {
  private constructor(
    readonly path: string,
    private fh: FileHandle,
    private seq: number,
    private prevHash: string | null,
  ) {}

  static async open(path: string): Promise<Ledger> {
    await mkdir(dirname(path), { recursive: true });
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const lines = text.split('\n').filter((l) => l.length > 0);
    let seq = 0;
    let prev: string | null = null;
    if (lines.length > 0) {
      const last = lines[lines.length - 1];
      seq = (JSON.parse(last) as LedgerRecord).seq;
      prev = lineHash(last);
    }
    const fh = await open(path, 'a');
    return new Ledger(path, fh, seq, prev);
  }

  async append(entry: LedgerEntry): Promise<LedgerRecord> {
    const record: LedgerRecord = { v: 1, seq: this.seq + 1, time: new Date().toISOString(), ...entry, prev: this.prevHash };
    const line = JSON.stringify(record);
    await this.fh.appendFile(line + '\n');
    await this.fh.sync();
    this.seq = record.seq;
    this.prevHash = lineHash(line);
    return record;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

export async function readLedger(path: string): Promise<LedgerRecord[]> {
  const text = await readFile(path, 'utf8');
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as LedgerRecord);
}
