import { hostname } from 'node:os';
import { join } from 'node:path';
import { type Logger, type ResolvedTarget, readRegularFile, writeFileAtomic } from '@airgap/core';
import { type HeldLock, type Ledger, acquireLock, scanLedger } from '@airgap/ledger';

/**
 * One ledger per target (docs/ledger.md "One ledger per target"). A `dir:` mirror holds two files of its
 * own beside the ecosystem folders (dot-files: `airgap serve` never serves them):
 * - `.airgap-lock`: taken for the run (the ledger lock's code and stale-lock handling, packages/ledger/src/lock.ts),
 *   so two unpacks with different ledgers cannot publish into one mirror at the same time;
 * - `.airgap-ledger-id`: the ledger that last pushed into the mirror (its identity, the sha256 of its first
 *   line, and the seq and sha256 of its last record after that run). A run whose ledger does not hold that
 *   record warns. A run that pushes nothing leaves the marker (and the whole mirror) as it is.
 */
export const MIRROR_LOCK = '.airgap-lock';
export const MIRROR_LEDGER_ID = '.airgap-ledger-id';

interface LedgerMarker {
  ledger: string;
  path: string;
  host: string;
  seq: number;
  sha256: string;
  time: string;
}

export interface MirrorGuard {
  /** The run pushed into this target: its marker is rewritten at release. */
  changed(target: string): void;
  /** Write the markers of the mirrors the run pushed into (the ledger's last record now) and release the locks. */
  release(): Promise<void>;
}

/** Lock every `dir:` target of the run and check its marker against this ledger. */
export async function guardDirTargets(targets: ResolvedTarget[], ledger: Ledger, log: Logger): Promise<MirrorGuard> {
  const changed = new Set<string>();
  const held: { target: ResolvedTarget & { type: 'dir' }; lock: HeldLock }[] = [];
  const releaseLocks = async () => {
    for (const h of held) await h.lock.release();
  };
  try {
    for (const t of targets) {
      if (t.type !== 'dir') continue;
      const lock = await acquireLock(join(t.path, MIRROR_LOCK), { what: `mirror ${t.path}`, log });
      held.push({ target: t, lock });
      await checkMarker(t.path, ledger, log);
    }
  } catch (e) {
    await releaseLocks();
    throw e;
  }
  return {
    changed: (target) => void changed.add(target),
    async release() {
      try {
        const last = ledger.last;
        const id = ledger.id;
        if (last && id) {
          for (const h of held.filter((x) => changed.has(x.target.name))) {
            const marker: LedgerMarker = { ledger: id, path: ledger.path, host: hostname(), seq: last.seq, sha256: last.sha256, time: new Date().toISOString() };
            await writeFileAtomic(join(h.target.path, MIRROR_LEDGER_ID), JSON.stringify(marker) + '\n').catch((e: Error) => log.warn(`could not write ${join(h.target.path, MIRROR_LEDGER_ID)}: ${e.message}`));
          }
        }
      } finally {
        await releaseLocks();
      }
    },
  };
}

async function readMarker(path: string): Promise<LedgerMarker | string | undefined> {
  let text: string;
  try {
    text = (await readRegularFile(path, { max: 4096, what: 'the mirror\'s ledger marker' })).toString('utf8');
  } catch (e) {
    if ((e as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return undefined;
    return (e as Error).message;
  }
  try {
    const m = JSON.parse(text) as LedgerMarker;
    if (typeof m.ledger === 'string' && Number.isSafeInteger(m.seq) && typeof m.sha256 === 'string') return m;
  } catch {
    // said below
  }
  return `${path} is not a ledger marker`;
}

/** Warn when the mirror's newest ledger record (its marker) is not in this ledger. */
async function checkMarker(mirror: string, ledger: Ledger, log: Logger): Promise<void> {
  const file = join(mirror, MIRROR_LEDGER_ID);
  const m = await readMarker(file);
  if (m === undefined) return;
  const rule = 'one ledger per target is the rule (docs/ledger.md): freshness checks and receipts only know what their own ledger recorded';
  if (typeof m === 'string') {
    log.warn(`mirror ${mirror}: ${m}; ${rule}`);
    return;
  }
  const who = `ledger ${m.path} on ${m.host}, seq ${m.seq} at ${m.time}`;
  if (m.ledger !== ledger.id) {
    log.warn(`mirror ${mirror} was last published with another ledger (${who}), not ${ledger.path}; ${rule}`);
    return;
  }
  const last = ledger.last;
  if (last && last.seq === m.seq && last.sha256 === m.sha256) return;
  let found: string | undefined;
  if (last && m.seq <= last.seq) await scanLedger(ledger.path, (r, _line, sha256) => {
    if (r.seq === m.seq && found === undefined) found = sha256;
  });
  if (found === m.sha256) return;
  log.warn(`mirror ${mirror}: its newest ledger record (${who}) is not in ${ledger.path}: this ledger was restored from an older copy or another copy of it published there; ${rule}`);
}
