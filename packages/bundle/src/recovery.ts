/**
 * Recovery data for the parts (docs/transfer.md, docs/bundle-format.md "Recovery files"): PAR2 files
 * beside the parts, written by par2cmdline so that Debian's `par2 verify`/`par2 repair` work without
 * airgap. This module chooses the PAR2 block size and count and records the files in bundle.json.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError, UsageError, fileDigest } from '@airgap/core';
import { runPar2 } from './par2.js';
import type { PartInfo } from './parts.js';

export const PAR2_INDEX = 'bundle.par2';
/** par2cmdline's names for `-a bundle.par2`: bundle.par2 and bundle.volFIRST+COUNT.par2. */
export const PAR2_FILE = /^bundle(?:\.vol(\d+)\+(\d+))?\.par2$/;

export interface RecoveryFile {
  file: string;
  size: number;
  sha256: string;
  /** Recovery blocks in the file (0 for bundle.par2, which holds only the checksums). */
  blocks: number;
}

/** bundle.json `recovery`: absent when pack had no --recovery. */
export interface RecoveryInfo {
  format: 'par2';
  /** What was asked (`--recovery 10%` → 10). */
  percent: number;
  blockSize: number;
  sourceBlocks: number;
  recoveryBlocks: number;
  files: RecoveryFile[];
}

export interface RecoveryPlan {
  blockSize: number;
  sourceBlocks: number;
  recoveryBlocks: number;
  /** How many recovery volumes, so that each is no larger than the chunk size. */
  volumes: number;
}

/** `--recovery 10%`, `10`, config `recovery: 10%`: a percentage in (0, 100]. */
export function parseRecoveryPercent(text: string | number, what = '--recovery'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(String(text));
  const n = m ? Number(m[1]) : NaN;
  if (!m || !(n > 0) || n > 100) {
    throw new UsageError(`${what}: ${JSON.stringify(text)} is not a percentage between 0 and 100`, { subject: what, hint: 'write it like 10% (recovery data worth a tenth of the parts)' });
  }
  return n;
}

// PAR2 allows 32768 source blocks; fewer blocks mean less Reed–Solomon work (each recovery block reads
// every source block), more blocks a finer grain for scattered damage. At least 20 blocks, so 10% gives
// two independent recovery blocks. The estimated overhead (recovery slices plus the checksum packets
// par2cmdline repeats in every volume) must stay within 1.5 points of what was asked (the issue allows 2).
const MIN_BLOCKS = 20;
const MAX_SOURCE_BLOCKS = 32768;
const OVERHEAD_SLACK = 0.015;
/** Recovery slice packet header + exponent (PAR2 spec). */
const SLICE_PACKET = 68;

/**
 * Bytes of one copy of the critical packets for `parts` files and `blocks` source blocks: main
 * (76 + 16 per file), file description (132 per file with our 10-character names), block checksums
 * (80 per file + 20 per block), creator (~100). Measured against par2cmdline 0.8.1's output.
 */
const criticalBytes = (parts: number, blocks: number) => 176 + 228 * parts + 20 * blocks;
/** par2cmdline writes 1 + floor(log2 n) copies of the critical packets into a volume of n blocks. */
const copies = (n: number) => 1 + Math.floor(Math.log2(Math.max(1, n)));

/**
 * Choose the PAR2 block size: a divisor of the largest part (so a part is a whole number of blocks and a
 * lost part costs exactly its blocks), the fewest blocks that give at least MIN_BLOCKS and an estimated
 * overhead within OVERHEAD_SLACK of `percent` (else the closest), and volumes no larger than the chunk size.
 */
export function planRecovery(partSizes: number[], chunkSize: number, percent: number): RecoveryPlan {
  const total = partSizes.reduce((n, s) => n + s, 0);
  const largest = Math.max(...partSizes);
  const p = percent / 100;
  let best: { plan: RecoveryPlan; off: number } | undefined;
  for (let k = 2; k <= 4096; k++) {
    // Rounded up to PAR2's multiple of 4, so a full part is exactly k blocks (not k and a sliver).
    const blockSize = Math.ceil(largest / k / 4) * 4;
    if (k > 2 && blockSize <= 4) break;
    const sourceBlocks = partSizes.reduce((n, s) => n + Math.max(1, Math.ceil(s / blockSize)), 0);
    if (sourceBlocks > MAX_SOURCE_BLOCKS) break;
    const recoveryBlocks = Math.max(1, Math.ceil(p * sourceBlocks));
    const crit = criticalBytes(partSizes.length, sourceBlocks);
    let perVolume = Math.min(recoveryBlocks, Math.floor(chunkSize / (blockSize + SLICE_PACKET)));
    while (perVolume > 0 && perVolume * (blockSize + SLICE_PACKET) + copies(perVolume) * crit > chunkSize) perVolume--;
    if (perVolume < 1) continue;
    const volumes = Math.ceil(recoveryBlocks / perVolume);
    const perVol = Math.ceil(recoveryBlocks / volumes);
    const bytes = crit + recoveryBlocks * (blockSize + SLICE_PACKET) + volumes * copies(perVol) * crit;
    const off = Math.abs(bytes / total - p);
    const plan = { blockSize, sourceBlocks, recoveryBlocks, volumes };
    if (sourceBlocks >= MIN_BLOCKS && off <= OVERHEAD_SLACK) return plan;
    if (!best || off < best.off) best = { plan, off };
  }
  if (best) return best.plan;
  throw new UsageError(`recovery data cannot be made for ${partSizes.length} parts of ${chunkSize} bytes (PAR2 allows ${MAX_SOURCE_BLOCKS} blocks)`, { subject: '--recovery', hint: 'use a larger --chunk-size' });
}

const MiB = 2 ** 20;
/** par2cmdline's `-m` ceiling: its buffers are -m plus one chunk, so pack stays well under 512 MiB RSS. */
const PAR2_MAX_MEMORY_MIB = 256;

/**
 * The memory limit (`-m`, MiB) par2cmdline is given: below blockSize × recoveryBlocks, on purpose
 * (docs/transfer.md "What recovery costs"). par2cmdline 0.8.1 (Par2Creator::CalculateProcessBlockSize)
 * works one of two ways. When all recovery blocks fit in -m, it computes the checksums PAR2 needs (an
 * MD5 of each part, an MD5 and a CRC32 of each block) on its main thread between reads, and only the
 * Reed–Solomon runs on -t threads: measured, those checksums are two thirds of its CPU time, so it used
 * about one core of two. When they do not fit, it first checksums -T parts at a time (2 by default), then
 * computes the recovery blocks in slices of -m / recoveryBlocks, reading the parts again from the page
 * cache (pack has just written them). Half the limit gives two slices; small bundles, whose recovery fits
 * in 1 MiB, take the first way, where it does not matter.
 */
export function par2MemoryMiB(plan: Pick<RecoveryPlan, 'blockSize' | 'recoveryBlocks'>): number {
  return Math.max(1, Math.min(PAR2_MAX_MEMORY_MIB, Math.floor((plan.blockSize * plan.recoveryBlocks) / 2 / MiB)));
}

/** `par2 create` arguments for a plan over `files` (relative to the bundle directory); the benchmark's peer run uses the same. */
export function par2CreateArgs(plan: RecoveryPlan, files: string[]): string[] {
  return ['create', '-q', '-q', `-s${plan.blockSize}`, `-c${plan.recoveryBlocks}`, `-n${plan.volumes}`, '-u', `-m${par2MemoryMiB(plan)}`, PAR2_INDEX, '--', ...files];
}

/**
 * Write the PAR2 files for the parts in `dir` with par2cmdline and return them as bundle.json lists
 * them, each fsynced. Each is checked to be no larger than the chunk size (they cross the same gateway).
 */
export async function createRecovery(dir: string, parts: PartInfo[], chunkSize: number, percent: number): Promise<RecoveryInfo> {
  const plan = planRecovery(parts.map((p) => p.size), chunkSize, percent);
  const r = await runPar2(par2CreateArgs(plan, parts.map((p) => p.file)), dir);
  if (r.exitCode !== 0) {
    throw new InternalError(`par2 create failed in ${dir} (exit ${r.exitCode}): ${r.output.trim().split('\n').slice(-3).join(' ')}`, { subject: dir, hint: r.exitCode === 8 ? 'par2 ran out of memory' : 'check free disk space in --out' });
  }
  // Each file is fsynced and hashed at the same time (the hash reads it back from the page cache), all
  // files at once: the disk flush, not the hashing, is what takes the time.
  const names = (await readdir(dir)).filter((f) => PAR2_FILE.test(f)).sort(byVolume);
  const files: RecoveryFile[] = await Promise.all(
    names.map(async (file) => {
      const path = join(dir, file);
      const size = (await stat(path)).size;
      if (size > chunkSize) throw new InternalError(`par2 wrote ${file} of ${size} bytes, larger than the chunk size ${chunkSize}`, { subject: file });
      const [digest] = await Promise.all([fileDigest(path), fsyncFile(path)]);
      const m = PAR2_FILE.exec(file)!;
      return { file, size, sha256: digest!.slice('sha256:'.length), blocks: m[2] ? Number(m[2]) : 0 };
    }),
  );
  const got = files.reduce((n, f) => n + f.blocks, 0);
  if (got !== plan.recoveryBlocks || !files.some((f) => f.file === PAR2_INDEX)) {
    throw new InternalError(`par2 wrote ${got} recovery blocks in ${files.length} files, expected ${plan.recoveryBlocks} and ${PAR2_INDEX}`, { subject: dir });
  }
  return { format: 'par2', percent, blockSize: plan.blockSize, sourceBlocks: plan.sourceBlocks, recoveryBlocks: plan.recoveryBlocks, files };
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function byVolume(a: string, b: string): number {
  const first = (f: string) => Number(PAR2_FILE.exec(f)?.[1] ?? -1);
  return first(a) - first(b);
}

const HEX64 = /^[a-f0-9]{64}$/;

/** Check bundle.json's `recovery` (signed, but still only a shape we accept): throws a message part. */
export function recoveryProblem(r: unknown): string | undefined {
  if (r === undefined) return undefined;
  const x = r as RecoveryInfo;
  if (typeof x !== 'object' || x === null || x.format !== 'par2') return 'recovery.format must be par2';
  for (const k of ['blockSize', 'sourceBlocks', 'recoveryBlocks'] as const) if (!Number.isSafeInteger(x[k]) || x[k] < 0) return `recovery.${k} must be a count`;
  if (!Array.isArray(x.files) || x.files.length === 0) return 'recovery.files must list the PAR2 files';
  for (const f of x.files) {
    if (!f || typeof f.file !== 'string' || !PAR2_FILE.test(f.file)) return `recovery file ${JSON.stringify(f?.file)} is not a bundle*.par2 name`;
    if (!Number.isSafeInteger(f.size) || f.size < 0 || !HEX64.test(f.sha256) || !Number.isSafeInteger(f.blocks) || f.blocks < 0) return `${f.file} needs a size, a sha256 and a block count`;
  }
  return undefined;
}
