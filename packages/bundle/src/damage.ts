/**
 * What is wrong with a bundle's parts, and whether its recovery data can rebuild them (docs/transfer.md
 * "A part is lost or damaged"). Used when verify fails on a part, and by repair. Everything is measured
 * against the signed bundle.json; a PAR2 file is read only when its sha256 matches bundle.json.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IntegrityError, fileDigest, formatSize } from '@airgap/core';
import type { BundleDescriptor } from './format.js';
import { type Par2Set, readPar2 } from './par2.js';
import { PAR2_INDEX } from './recovery.js';
import { type VerifyOptions, verifyDescriptor } from './verify.js';

export interface PartDamage {
  file: string;
  /** missing, or present with the wrong size or the wrong sha256. */
  state: 'missing' | 'truncated' | 'extended' | 'corrupt' | 'not a file';
  detail: string;
  /** PAR2 blocks of this part that must be rebuilt (all of them when missing); null without recovery data. */
  badBlocks: number | null;
  blocks: number | null;
}

export interface DamageReport {
  dir: string;
  descriptor: BundleDescriptor;
  parts: number;
  damaged: PartDamage[];
  /** null when the bundle was packed without --recovery. */
  recovery: null | {
    blockSize: number;
    /** Blocks to rebuild, over all damaged parts. */
    needed: number;
    /** Recovery blocks in the PAR2 files whose sha256 matches bundle.json. */
    available: number;
    /** PAR2 files missing or not matching bundle.json (they are not used). */
    unusable: string[];
    repairable: boolean;
  };
}

/**
 * Check every part (presence, size, sha256) and, for a bundle with recovery data, count the damaged
 * PAR2 blocks of each damaged part (block MD5s from the PAR2 checksum packets) against the intact
 * recovery blocks. bundle.json's signature is checked first, as verify does.
 */
export async function assessDamage(dir: string, opts: Pick<VerifyOptions, 'trust' | 'insecureSkipSignature'>): Promise<DamageReport> {
  const { descriptor } = await verifyDescriptor(dir, opts);
  const damaged: PartDamage[] = [];
  for (const p of descriptor.parts) {
    const path = join(dir, p.file);
    const st = await stat(path).catch(() => undefined);
    let d: Omit<PartDamage, 'badBlocks' | 'blocks'> | undefined;
    if (!st) d = { file: p.file, state: 'missing', detail: 'missing' };
    else if (!st.isFile()) d = { file: p.file, state: 'not a file', detail: 'not a regular file' };
    else if (st.size !== p.size) d = { file: p.file, state: st.size < p.size ? 'truncated' : 'extended', detail: `${st.size} bytes, bundle.json says ${p.size}` };
    else {
      const got = (await fileDigest(path))!.slice('sha256:'.length);
      if (got !== p.sha256) d = { file: p.file, state: 'corrupt', detail: `sha256 ${got}, bundle.json says ${p.sha256}` };
    }
    if (d) damaged.push({ ...d, badBlocks: null, blocks: null });
  }
  const r = descriptor.recovery;
  if (!r) return { dir, descriptor, parts: descriptor.parts.length, damaged, recovery: null };

  const intact: string[] = [];
  const unusable: string[] = [];
  for (const f of r.files) {
    const path = join(dir, f.file);
    const st = await stat(path).catch(() => undefined);
    const ok = st?.isFile() && st.size === f.size && (await fileDigest(path)) === `sha256:${f.sha256}`;
    (ok ? intact : unusable).push(f.file);
  }
  const available = r.files.filter((f) => intact.includes(f.file)).reduce((n, f) => n + f.blocks, 0);
  // Every PAR2 file carries the checksum packets; bundle.par2 is the smallest to read.
  const source = intact.includes(PAR2_INDEX) ? PAR2_INDEX : intact[0];
  const set = source ? await readPar2(join(dir, source)) : undefined;
  let needed = 0;
  for (const d of damaged) {
    const size = descriptor.parts.find((p) => p.file === d.file)!.size;
    d.blocks = Math.max(1, Math.ceil(size / r.blockSize));
    d.badBlocks = d.state === 'missing' || d.state === 'not a file' || !set ? d.blocks : await badBlocks(join(dir, d.file), d.file, set, r.blockSize);
    needed += d.badBlocks;
  }
  return { dir, descriptor, parts: descriptor.parts.length, damaged, recovery: { blockSize: r.blockSize, needed, available, unusable, repairable: !!set && needed <= available } };
}

/** Blocks of a present part whose MD5 differs from the PAR2 checksum packet (the last one zero-padded). */
async function badBlocks(path: string, file: string, set: Par2Set, blockSize: number): Promise<number> {
  const want = set.files.get(file);
  if (!want) return Number.MAX_SAFE_INTEGER;
  const fh = await open(path, 'r');
  try {
    let bad = 0;
    const buf = Buffer.alloc(blockSize);
    for (const [i, md5] of want.blockMd5.entries()) {
      const len = Math.min(blockSize, want.length - i * blockSize);
      buf.fill(0);
      let n = 0;
      while (n < len) {
        const { bytesRead } = await fh.read(buf, n, len - n, i * blockSize + n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      if (n < len || !createHash('md5').update(buf).digest().equals(md5)) bad++;
    }
    return bad;
  } finally {
    await fh.close();
  }
}

/** The report in an operator's words: every damaged part on its own line, then what recovery can do. */
export function damageText(r: DamageReport): string {
  const lines = [`bundle ${r.dir} is damaged: ${r.damaged.length} of ${r.parts} parts`];
  for (const d of r.damaged) {
    const blocks = d.badBlocks === null ? '' : ` (${d.badBlocks} of ${d.blocks} blocks to rebuild)`;
    lines.push(`  ${d.file}: ${d.state === 'corrupt' || d.state === 'missing' ? '' : d.state + ': '}${d.detail}${blocks}`);
  }
  const rec = r.recovery;
  if (!rec) lines.push('no recovery data: the bundle was packed without --recovery');
  else {
    if (rec.unusable.length) lines.push(`recovery files missing or damaged (not used): ${rec.unusable.join(', ')}`);
    const size = (n: number) => `${n} block${n === 1 ? '' : 's'} (${formatSize(n * rec.blockSize)})`;
    lines.push(
      rec.repairable
        ? `repairable: the recovery data can rebuild them (${size(rec.needed)} to rebuild, ${rec.available} recovery blocks intact)`
        : `NOT repairable: ${size(rec.needed)} to rebuild but only ${rec.available} recovery blocks intact; ${size(rec.needed - rec.available)} more recovery data is missing`,
    );
  }
  return lines.join('\n');
}

/** The error verify and unpack raise for damaged parts (exit 3), with the repair advice. */
export function damageError(r: DamageReport): IntegrityError {
  const hint = r.recovery?.repairable
    ? `run: airgap repair ${r.dir}`
    : `copy the named part(s) again from the source (SHA256SUMS lists their checksums)${r.recovery ? ', or more recovery files' : ''}`;
  return new IntegrityError(damageText(r), { subject: r.damaged[0]?.file ?? r.dir, hint });
}
