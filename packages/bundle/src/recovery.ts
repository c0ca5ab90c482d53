/**
 * Recovery data for the parts (docs/transfer.md, docs/bundle-format.md "Recovery files"): PAR2 2.0 files
 * beside the parts that Debian's `par2 verify`/`par2 repair` accept without airgap. airgap writes them
 * itself, while the parts are written (recovery-worker.ts): par2cmdline run after the parts cost 2.4×
 * the pack's time (docs/transfer.md "What recovery costs"). This module chooses the PAR2 block size and
 * count, lays out the files and records them in bundle.json.
 */
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError, UsageError, fileDigest } from '@airgap/core';
import { layoutPar2, makePar2 } from './par2-write.js';
import { type PartInfo, partName } from './parts.js';
import { RecoveryThreads } from './recovery-worker.js';
import { makeGf16 } from './gf16.js';

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
// repeated once in every volume) must stay within 1.5 points of what was asked (the issue allows 2).
const MIN_BLOCKS = 20;
const MAX_SOURCE_BLOCKS = 32768;
const OVERHEAD_SLACK = 0.015;
/** Recovery slice packet header + exponent (PAR2 spec). */
const SLICE_PACKET = 68;

/**
 * Bytes of one copy of the critical packets for `parts` files and `blocks` source blocks: main
 * (76 + 16 per file), file description (132 per file with our 10-character names), block checksums
 * (80 per file + 20 per block), creator (100 at most); par2-write.ts `criticalSize` is the exact figure.
 */
const criticalBytes = (parts: number, blocks: number) => 176 + 228 * parts + 20 * blocks;

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
    // Rounded up to a multiple of 64 (PAR2 asks for 4; 64 lets a part's MD5 and its blocks' share each
    // MD5 step, md5x.ts), so a full part is exactly k blocks (not k and a sliver).
    const blockSize = Math.ceil(largest / k / 64) * 64;
    if (k > 2 && blockSize <= 64) break;
    const sourceBlocks = partSizes.reduce((n, s) => n + Math.max(1, Math.ceil(s / blockSize)), 0);
    if (sourceBlocks > MAX_SOURCE_BLOCKS) break;
    const recoveryBlocks = Math.max(1, Math.ceil(p * sourceBlocks));
    const crit = criticalBytes(partSizes.length, sourceBlocks);
    let perVolume = Math.min(recoveryBlocks, Math.floor(chunkSize / (blockSize + SLICE_PACKET)));
    // Every file, volumes included, holds one copy of the critical packets (par2-write.ts layoutPar2).
    while (perVolume > 0 && perVolume * (blockSize + SLICE_PACKET) + crit > chunkSize) perVolume--;
    if (perVolume < 1) continue;
    const volumes = Math.ceil(recoveryBlocks / perVolume);
    const bytes = crit + recoveryBlocks * (blockSize + SLICE_PACKET) + volumes * crit;
    const off = Math.abs(bytes / total - p);
    const plan = { blockSize, sourceBlocks, recoveryBlocks, volumes };
    if (sourceBlocks >= MIN_BLOCKS && off <= OVERHEAD_SLACK) return plan;
    if (!best || off < best.off) best = { plan, off };
  }
  if (best) return best.plan;
  throw new UsageError(`recovery data cannot be made for ${partSizes.length} parts of ${chunkSize} bytes (PAR2 allows ${MAX_SOURCE_BLOCKS} blocks)`, { subject: '--recovery', hint: 'use a larger --chunk-size' });
}

const md5 = (...parts: Uint8Array[]) => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** A PAR2 set being written while the parts are: `written(n)` as bytes reach the parts, then `finish`. */
export interface RecoveryRun {
  written(n: number): void;
  /** Wait for the PAR2 files, check the parts are the ones planned, fsync and hash the files. */
  finish(parts: PartInfo[]): Promise<RecoveryInfo>;
  abort(): Promise<void>;
}

/**
 * Start the PAR2 writer for parts of these sizes (named part-00001…, written in that order into `dir`;
 * recovery-worker.ts). Each PAR2 file is checked to be no larger than the chunk size (they cross the
 * same gateway). `aheadHeads`: each part's MD5 of its first 16 KiB, read ahead of the parts (tar-plan.ts),
 * so that the Reed–Solomon work can follow the parts; without it, it starts once every byte is written.
 */
export function startRecovery(dir: string, partSizes: number[], chunkSize: number, percent: number, aheadHeads?: Promise<Buffer[] | undefined>): RecoveryRun {
  const plan = planRecovery(partSizes, chunkSize, percent);
  const B = plan.blockSize;
  const parts = partSizes.map((size, i) => ({ file: partName(i + 1), size }));
  const blocks = parts.map((p) => Math.max(1, Math.ceil(p.size / B)));
  const par2 = makePar2(md5);
  const crit = par2.criticalSize(parts.map((p, i) => ({ name: p.file, blocks: blocks[i]! })));
  const layout = layoutPar2(crit, B, plan.recoveryBlocks, plan.volumes);
  for (const f of layout) if (f.size > chunkSize) throw new InternalError(`${f.file} would be ${f.size} bytes, larger than the chunk size ${chunkSize}`, { subject: f.file });
  for (const f of layout) {
    const fd = openSync(join(dir, f.file), 'wx', 0o644);
    try {
      ftruncateSync(fd, f.size);
    } finally {
      closeSync(fd);
    }
  }
  const threads = new RecoveryThreads(dir, B, plan.recoveryBlocks, parts, layout);
  const total = partSizes.reduce((n, s) => n + s, 0);
  // Block i of the main packet's (sorted) file order gets constant 2^logs[i]; the threads want them in stream order.
  const logsFor = (heads: Buffer[]) => {
    const ids = parts.map((p, i) => par2.fileId(heads[i]!, p.size, p.file));
    const order = parts.map((_, i) => i).sort((a, b) => par2.byId(ids[a]!, ids[b]!));
    const logs = makeGf16().inputLogs(plan.sourceBlocks);
    const first: number[] = [];
    order.reduce((g, i) => ((first[i] = g), g + blocks[i]!), 0);
    return parts.flatMap((_, i) => Array.from({ length: blocks[i]! }, (_, b) => logs[first[i]! + b]!));
  };
  let end = 0;
  const ends = partSizes.map((s) => (end += s)); // where each part ends in the stream
  let written = 0;
  let all!: () => void;
  const allWritten = new Promise<void>((r) => (all = r));
  // With the heads read ahead (tar-plan.ts), the parts' blocks are added as the parts are written, one pass
  // at a time; otherwise (or if they prove wrong) one pass over every part once the heads are known. Each
  // pass reads back and rewrites all the recovery data, so a pass takes every part finished since the
  // last one and waits for two, except for the last two parts: what is left once the last part is written
  // stays one part's pass (docs/transfer.md "How airgap writes PAR2").
  let early: { heads: Buffer[]; logs: number[] } | undefined;
  let added = 0;
  let pass: Promise<void> | undefined;
  let stop = false;
  let followed!: () => void;
  let broke!: (e: unknown) => void;
  const allFollowed = new Promise<void>((r, j) => ((followed = r), (broke = j)));
  allFollowed.catch(() => undefined); // awaited in recovered
  const follow = () => {
    if (!early || stop || pass) return;
    const done = ends.filter((e) => e <= written).length;
    if (done <= added || (done - added < 2 && done < parts.length - 1)) return;
    const [from, logs] = [added, early.logs];
    added = done;
    pass = threads.recover(logs, from, done, from === 0).then(() => {
      pass = undefined;
      if (added === parts.length) followed();
      else follow();
    }, broke);
  };
  aheadHeads?.then(
    (heads) => {
      if (heads) early = { heads, logs: logsFor(heads) };
      follow();
    },
    () => undefined,
  );
  const recovered = Promise.all([threads.heads, allWritten]).then(async ([heads]) => {
    if (early && early.heads.every((h, i) => h.equals(heads[i]!))) {
      follow();
      return allFollowed;
    }
    stop = true;
    await pass?.catch(() => undefined);
    return threads.recover(logsFor(heads), 0, parts.length, true);
  });
  recovered.catch(() => undefined); // awaited in finish
  return {
    written(n) {
      written += n;
      threads.written(n);
      follow();
      if (written === total) all();
    },
    abort: () => threads.abort(),
    async finish(actual) {
      if (actual.length !== parts.length || actual.some((p, i) => p.file !== parts[i]!.file || p.size !== parts[i]!.size)) {
        await threads.abort();
        throw new InternalError(`the parts written (${actual.map((p) => p.size).join(', ')} bytes) are not the ones the recovery data was planned for (${partSizes.join(', ')})`, { subject: dir });
      }
      await recovered;
      const { setId, bytes } = par2.critical(B, await threads.hashed);
      await Promise.all(layout.map((f) => writeAt(join(dir, f.file), bytes, 0)));
      await threads.seal(Buffer.concat([setId, par2.TYPES.recovery]), par2.header(setId, par2.TYPES.recovery, 4 + B, Buffer.alloc(16)).subarray(0, 16));
      // Each file is fsynced and hashed at the same time (the hash reads it back from the page cache), all
      // files at once: the disk flush, not the hashing, is what takes the time.
      const files: RecoveryFile[] = await Promise.all(
        layout.map(async ({ file, size, slices }) => {
          const path = join(dir, file);
          const got = (await stat(path)).size;
          if (got !== size) throw new InternalError(`${file} has ${got} bytes, ${size} were planned`, { subject: file });
          const [digest] = await Promise.all([fileDigest(path), fsyncFile(path)]);
          return { file, size, sha256: digest!.slice('sha256:'.length), blocks: slices.length };
        }),
      );
      return { format: 'par2', percent, blockSize: B, sourceBlocks: plan.sourceBlocks, recoveryBlocks: plan.recoveryBlocks, files };
    },
  };
}

async function writeAt(path: string, data: Buffer, pos: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(data, 0, data.length, pos);
  } finally {
    await fh.close();
  }
}

/** Write the PAR2 files for parts already in `dir` (split, tests): the same writer, told every byte is there. */
export async function createRecovery(dir: string, parts: PartInfo[], chunkSize: number, percent: number): Promise<RecoveryInfo> {
  const run = startRecovery(dir, parts.map((p) => p.size), chunkSize, percent);
  run.written(parts.reduce((n, p) => n + p.size, 0));
  return run.finish(parts);
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
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
