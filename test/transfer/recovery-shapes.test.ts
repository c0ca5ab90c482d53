/**
 * Recovery data for the shapes the benchmark packs (test/bench/transfer.mjs), scaled down: two full parts
 * and a tail at 50% (the repair bench: one lost part is half the data), eight full parts and a tail at
 * 10% (the pack bench), 11 parts at 10% and 20%. par2cmdline itself writes the files from the plan, so a
 * plan that lets a PAR2 volume outgrow the chunk size (what the 2 GiB bench was suspected of), misses the
 * overhead asked for, or cannot rebuild the largest lost part is caught here (docs/transfer.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PAR2_FILE, createRecovery, partName, planRecovery } from '@airgap/bundle';
import { tempDir } from '../harness/index.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MiB = 1 << 20;

// Parts of a few MiB at most: below ~1 MiB the checksum packets par2 repeats in every volume alone take
// the overhead past 2 points at 50%. `lose`: what the recovery can rebuild — the whole first part, or
// (8 parts at 10% hold less than one part) 16 bytes flipped in its middle.
const shapes = [
  { what: 'two full parts and a tail, 50% (repair bench)', chunk: 4 * MiB, sizes: [4 * MiB, 4 * MiB, 18_432], percent: 50, lose: 'part' },
  { what: 'eight full parts and a tail, 10% (pack bench)', chunk: 256 << 10, sizes: [...Array(8).fill(256 << 10), 14_336], percent: 10, lose: 'flip' },
  { what: '11 parts, 10%', chunk: 400_000, sizes: [...Array(10).fill(400_000), 123_457], percent: 10, lose: 'part' },
  { what: '11 parts, 20%', chunk: 400_000, sizes: [...Array(10).fill(400_000), 123_457], percent: 20, lose: 'part' },
] as const;

describe('recovery plans written by airgap, checked by par2', () => {
  for (const s of shapes) {
    it(`${s.what}: every PAR2 file ≤ the chunk size, overhead within 2 points, damage to the first part rebuilt by par2`, async () => {
      const dir = await tempDir('airgap-recovery-shape-');
      const parts = [];
      for (const [i, size] of s.sizes.entries()) {
        const bytes = randomBytes(size);
        await writeFile(join(dir, partName(i + 1)), bytes);
        parts.push({ file: partName(i + 1), size, sha256: sha256(bytes) });
      }
      const plan = planRecovery(s.sizes, s.chunk, s.percent);
      const info = await createRecovery(dir, parts, s.chunk, s.percent);
      expect(info.recoveryBlocks).toBe(plan.recoveryBlocks);

      const written = (await readdir(dir)).filter((f) => PAR2_FILE.test(f));
      expect(written.sort()).toEqual(info.files.map((f) => f.file).sort());
      let bytes = 0;
      for (const f of written) {
        const size = (await stat(join(dir, f))).size;
        expect(size, f).toBeLessThanOrEqual(s.chunk);
        bytes += size;
      }
      const total = s.sizes.reduce((n, x) => n + x, 0);
      expect(Math.abs((100 * bytes) / total - s.percent)).toBeLessThanOrEqual(2);

      const check = await execa('par2', ['verify', '-q', 'bundle.par2'], { cwd: dir, reject: false });
      expect(check.exitCode, check.stdout).toBe(0);
      const lost = parts[0];
      const partBlocks = Math.ceil(lost.size / plan.blockSize);
      expect(plan.recoveryBlocks >= partBlocks).toBe(s.lose === 'part');
      if (s.lose === 'part') await rm(join(dir, lost.file));
      else {
        const fh = await open(join(dir, lost.file), 'r+');
        await fh.write(randomBytes(16), 0, 16, lost.size >> 1);
        await fh.close();
      }
      const repair = await execa('par2', ['repair', '-q', 'bundle.par2'], { cwd: dir, reject: false });
      expect(repair.exitCode, repair.stdout).toBe(0);
      expect(sha256(await readFile(join(dir, lost.file)))).toBe(lost.sha256);
    });
  }

  it('a chunk size too small for any PAR2 volume is a usage error naming --chunk-size, before anything is written', () => {
    expect(() => planRecovery(Array(40_000).fill(4), 4, 10)).toThrow(/--chunk-size|PAR2 allows/);
  });
});
