import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packLocalFiles, runAirgap, tempDir } from '../harness/index.js';

// A repeatable flag takes one value per use (`--pub A --pub B`), so the bundle folder may follow it:
// `airgap verify --pub K DIR` is what an operator types as often as the README's `verify DIR --pub K`. oclif's default for a
// repeatable flag is greedy and took DIR as a second key.
describe('repeatable flags before the bundle argument', () => {
  let work: string;
  let bundle: string;
  let pub: string;

  beforeAll(async () => {
    work = await tempDir('airgap-flag-order-');
    ({ bundle, pub } = await packLocalFiles(work, { 'a.txt': 'hello\n' }, { bundle: 'order' }));
  }, 120_000);

  it('verify --pub KEY DIR verifies DIR with KEY (exit 0)', async () => {
    const r = await runAirgap(['verify', '--pub', pub, bundle], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('unpack --pub KEY --only files DIR --to dir:… publishes DIR', async () => {
    const mirror = join(work, 'mirror');
    const r = await runAirgap(['unpack', '--pub', pub, '--only', 'files', bundle, '--to', `dir:${mirror}`, '--ledger', join(work, 'l.jsonl')], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toMatch(/pushed|published/);
  });

  it('--pub given twice still trusts both keys', async () => {
    const other = join(work, 'k2');
    expect((await runAirgap(['keygen', '--out-dir', other, '--name', 'u'], { cwd: work })).exitCode).toBe(0);
    const r = await runAirgap(['verify', '--pub', join(other, 'u.pub'), '--pub', pub, bundle], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    const only = await runAirgap(['verify', '--pub', join(other, 'u.pub'), bundle], { cwd: work });
    expect(only.exitCode).toBe(3);
  });
});
