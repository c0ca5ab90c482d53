import { randomBytes } from 'node:crypto';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { flipByte, packLocalFiles, runAirgap, tempDir } from '../harness/index.js';

const MiB = 1 << 20;

// `airgap verify` of a bundle above the 32 MiB under which parts are hashed inline: the parts are hashed
// on worker threads, starting while the CLI loads (bin/run.js → hashEarly, docs/security.md). The early
// digests must never let a changed part through.
describe('airgap verify with the parts hashed on threads from start-up', () => {
  let work: string;
  let bundle: string;
  let pub: string;

  beforeAll(async () => {
    work = await tempDir('airgap-verify-threads-');
    const files = Object.fromEntries([14 * MiB + 3, 13 * MiB, 12 * MiB + 77].map((size, i) => [`f${i}.bin`, randomBytes(size)]));
    ({ bundle, pub } = await packLocalFiles(work, files, { bundle: 'threads', path: 'big/', extra: ['--chunk-size', '10MiB'] }));
  }, 120_000);

  it('verifies the pristine bundle (exit 0), named after a flag whose value is a file', async () => {
    writeFileSync(join(work, 'airgap.yaml'), `trust:\n  - ${pub}\n`);
    const r = await runAirgap(['verify', '--config', join(work, 'airgap.yaml'), bundle, '--json'], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ parts: 4, verified: true });
  });

  it.each([2, 4])('refuses one flipped byte in part %i (exit 3, naming the part)', async (p) => {
    const dir = join(work, `flip-${p}`);
    cpSync(bundle, dir, { recursive: true });
    const part = join(dir, `part-0000${p}`);
    await flipByte(part, 777, 0x01);
    const r = await runAirgap(['verify', dir, '--pub', pub], { cwd: work });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`part-0000${p}`));
  });

  it('refuses a part swapped for another of the same size (exit 3)', async () => {
    const dir = join(work, 'swapped');
    cpSync(bundle, dir, { recursive: true });
    cpSync(join(bundle, 'part-00001'), join(dir, 'part-00002'));
    const r = await runAirgap(['verify', dir, '--pub', pub], { cwd: work });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/part-00002/);
  });
});
