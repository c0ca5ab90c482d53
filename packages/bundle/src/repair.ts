/**
 * `airgap repair`: rebuild missing or corrupt parts from the PAR2 recovery files (docs/transfer.md).
 * par2cmdline does the Reed–Solomon work in a private folder inside the bundle directory that holds
 * links to the intact files; a rebuilt part is renamed into the bundle only when its sha256 matches the
 * signed bundle.json, so an interrupted or failed repair leaves the bundle as it was.
 */
import { createHash } from 'node:crypto';
import { copyFile, link, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { IntegrityError, InternalError } from '@airgap/core';
import { type DamageReport, assessDamage, damageError, damageText } from './damage.js';
import { runPar2 } from './par2.js';
import { PAR2_INDEX } from './recovery.js';
import type { VerifyOptions } from './verify.js';
import { syncDir } from './writer.js';

export interface RepairResult {
  dir: string;
  /** Parts rebuilt and renamed in. */
  repaired: string[];
  /** The damage found before repairing. */
  before: DamageReport;
}

/**
 * Rebuild the damaged parts of `dir`. Trust comes first: bundle.json's signature, then each PAR2 file's
 * sha256 against it (a file that does not match is not given to par2). Beyond the recovery capacity:
 * IntegrityError (exit 3) with the numbers, nothing changed.
 */
export async function repairBundle(dir: string, opts: Pick<VerifyOptions, 'trust' | 'insecureSkipSignature'>): Promise<RepairResult> {
  const before = await assessDamage(dir, opts);
  if (before.damaged.length === 0) return { dir, repaired: [], before };
  if (!before.recovery?.repairable) throw damageError(before);
  const r = before.descriptor.recovery!;
  const work = await mkdtemp(join(dir, '.airgap-repair-'));
  try {
    const unusable = new Set(before.recovery.unusable);
    const damaged = new Map(before.damaged.map((d) => [d.file, d]));
    // Damaged parts that are present go in too: par2 uses their intact blocks (and renames them aside
    // in `work`, so the links in the bundle are never written to).
    for (const p of before.descriptor.parts) {
      const d = damaged.get(p.file);
      if (!d || d.state === 'corrupt' || d.state === 'truncated' || d.state === 'extended') await linkOrCopy(join(dir, p.file), join(work, p.file));
    }
    const par2Files = r.files.filter((f) => !unusable.has(f.file)).map((f) => f.file);
    for (const f of par2Files) await linkOrCopy(join(dir, f), join(work, f));
    const main = par2Files.includes(PAR2_INDEX) ? PAR2_INDEX : par2Files[0];
    const run = await runPar2(['repair', '-q', '-q', '-m256', main], work);
    if (run.exitCode !== 0) {
      throw new IntegrityError(`par2 could not repair ${dir} (exit ${run.exitCode}): ${run.output.trim().split('\n').slice(-2).join(' ')}\n${damageText(before)}`, {
        subject: before.damaged[0].file,
        hint: 'copy the named part(s) again from the source (SHA256SUMS lists their checksums)',
      });
    }
    const repaired: string[] = [];
    for (const d of before.damaged) {
      const want = before.descriptor.parts.find((p) => p.file === d.file)!;
      const rebuilt = join(work, d.file);
      const got = await syncedSha256(rebuilt).catch((e) => {
        throw new InternalError(`par2 reported success but ${d.file} was not rebuilt: ${(e as Error).message}`, { subject: d.file, cause: e });
      });
      if (got !== want.sha256) {
        throw new IntegrityError(`the rebuilt ${d.file} has sha256 ${got}, bundle.json says ${want.sha256}; nothing was replaced`, { subject: d.file, hint: 'copy the part again from the source' });
      }
    }
    // Every rebuilt part matched: only now is any of them renamed into the bundle (each rename atomic).
    for (const d of before.damaged) {
      await rename(join(work, d.file), join(dir, d.file));
      repaired.push(d.file);
    }
    await syncDir(dir);
    return { dir, repaired, before };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A hard link (no copy of a 4 GiB part); FAT32 and some network file systems have none, then a copy. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw e;
    await copyFile(from, to);
  }
}

async function syncedSha256(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}
