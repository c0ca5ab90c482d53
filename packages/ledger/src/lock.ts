import { randomBytes } from 'node:crypto';
import { link, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { BusyError, type Logger, readRegularFile, silentLogger, writeNewSynced } from '@airgap/core';

/** What a lock file holds: enough to name the holder and to tell whether it is still running. */
export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  /** Linux: the process start time (/proc/PID/stat field 22), so a reused pid is not taken for the holder. */
  procStart?: string;
  command: string;
}

export interface HeldLock {
  path: string;
  holder: LockHolder;
  release(): Promise<void>;
}

/** How long a lock file may stay empty (its holder died between creating and writing it) before it counts as stale. */
const EMPTY_GRACE_MS = 30_000;

function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: count fields after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Alive, dead, or cannot tell (another host's pid). */
function holderState(h: LockHolder): 'alive' | 'dead' | 'unknown' {
  if (h.host !== hostname()) return 'unknown';
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
    return 'alive'; // EPERM: a process of another user has that pid
  }
  if (h.procStart) {
    const now = procStart(h.pid);
    if (now !== undefined && now !== h.procStart) return 'dead';
  }
  return 'alive';
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as LockHolder;
    return Number.isSafeInteger(h.pid) && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Create `path` exclusively, already holding `text`: written to a temporary file and hard-linked into
 * place (link fails with EEXIST atomically), so no one ever reads a half-written lock. File systems
 * without hard links (FAT on a USB stick) get an O_EXCL create, then the write.
 */
async function createWithContent(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await writeNewSynced(tmp, text);
  try {
    await link(tmp, path);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await writeNewSynced(path, text);
}

/**
 * Take an exclusive lock (exclusive create of `path`) so two unpacks cannot append to one ledger, and two
 * packs cannot write into one --out, at the same time (cron overlaps). A held lock fails at once with
 * BusyError (exit 1) naming the holder's pid and host. A stale lock (its pid is gone from this host, or
 * now belongs to another process) is taken over with a warning.
 */
/** A lock file holds one short JSON line; anything much larger is not one of ours. */
const MAX_LOCK_BYTES = 64 << 10;

/**
 * A lock file's text, read the way nothing can block it: opened non-blocking and refused unless it is a
 * regular file (a FIFO placed at the lock path would otherwise hang the run before it starts): exit 2,
 * naming the path (docs/exit-codes.md). ENOENT stays visible as the error's `cause`.
 */
async function readLockFile(path: string): Promise<string> {
  const buf = await readRegularFile(path, { max: MAX_LOCK_BYTES, what: 'the lock file', hint: `remove ${path}: a lock is a small regular file that airgap writes and removes itself` });
  return buf.toString('utf8');
}

export async function acquireLock(path: string, opts: { what: string; log?: Logger; command?: string }): Promise<HeldLock> {
  const log = opts.log ?? silentLogger;
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    procStart: procStart(process.pid),
    command: opts.command ?? process.argv.slice(1).map((a) => a.replace(/^.*\/bin\/run\.js$/, 'airgap')).join(' ').slice(0, 300),
  };
  const text = JSON.stringify(me) + '\n';
  await mkdir(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await createWithContent(path, text);
      return {
        path,
        holder: me,
        release: async () => {
          // Only remove it if it is still ours (a takeover by a later run must not be undone).
          try {
            if ((await readLockFile(path)) === text) await unlink(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let seen: string;
    try {
      seen = await readLockFile(path);
    } catch (e) {
      if ((e as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') continue; // released meanwhile: try again
      throw e;
    }
    const holder = parseHolder(seen);
    let stale: string;
    if (!holder) {
      const age = Date.now() - (await stat(path).then((s) => s.mtimeMs, () => Date.now()));
      if (age < EMPTY_GRACE_MS) {
        throw new BusyError(`${opts.what} is locked by a run that is just starting (${path} is not written yet)`, { subject: path, hint: 'wait for it to finish and try again' });
      }
      stale = `${path} is unreadable and ${Math.round(age / 1000)} s old`;
    } else {
      const state = holderState(holder);
      if (state !== 'dead') {
        throw new BusyError(`${opts.what} is locked by pid ${holder.pid} on ${holder.host} (since ${holder.started}: ${holder.command})`, {
          subject: path,
          hint: state === 'unknown'
            ? `that process runs on another host; if it is gone, remove ${path}`
            : 'another airgap run is working on it; wait for it to finish (cron: the next run picks up what is left)',
        });
      }
      stale = `pid ${holder.pid} on ${holder.host} (since ${holder.started}) is gone`;
    }
    // Take over: move the stale file aside; if what was moved is not what was judged stale (another run
    // took it over in between), put it back and let the loop report that run as the holder.
    const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await rename(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const moved = await readLockFile(aside).catch(() => '');
    if (moved !== seen) {
      await rename(aside, path).catch(() => undefined);
      continue;
    }
    await unlink(aside).catch(() => undefined);
    log.warn(`took over the stale lock on ${opts.what}: ${stale} (an earlier run was killed; this run finishes its work)`);
  }
  throw new BusyError(`${opts.what}: could not take the lock ${path}; other runs keep taking it`, { subject: path, hint: 'try again later' });
}
