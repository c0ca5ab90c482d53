/**
 * Issue 21 item 10, the smaller items: an absurdly small --chunk-size is refused (exit 2) before anything
 * is resolved or written, and `inspect` prints an incremental bundle's `base` in words, not raw JSON.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeBase } from '../../src/commands/inspect.js';
import { runAirgap, tempDir } from '../harness/index.js';

describe('smaller items of issue 21', () => {
  it('--chunk-size 10 is exit 2 with a clear message, and no bundle is written', async () => {
    const work = await tempDir('airgap-chunk-');
    const m = join(work, 'm.yaml');
    await writeFile(join(work, 'f.txt'), 'hello\n');
    await writeFile(m, 'apiVersion: airgap/v1\nkind: Bundle\nname: tiny\nfiles:\n  - url: ./f.txt\n    path: f.txt\n');
    const out = join(work, 'out');
    const r = await runAirgap(['pack', m, '--out', out, '--key', join(work, 'none.key'), '--chunk-size', '10']);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('--chunk-size 10 is 10 B, below the smallest part size of 64.0 KiB');
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('inspect describes base in words', () => {
    expect(describeBase(null)).toBe('(full bundle)');
    expect(describeBase({ receipt: { created: '2026-11-24T10:00:00Z', target: 'nexus', ledger: { seq: 42, sha256: 'ab'.repeat(32) } }, artifacts: 12 }))
      .toBe('incremental (--since): 12 artifacts already inside per the receipt of 2026-11-24T10:00:00Z (target nexus, ledger line 42, sha256 abababababab…)');
  });
});
