/**
 * A FIFO placed at a lock path (the ledger's `<ledger>.lock`, a dir: mirror's `.airgap-lock`, pack's
 * `<out>/.airgap-pack.lock`) is refused at once, exit 2 naming it (docs/exit-codes.md), never opened for a
 * blocking read that would hang the run. Through the real CLI, with a FIFO made by mkfifo.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAirgap } from '../harness/index.js';
import { type Fixture, fixture } from './fixtures.js';

let f: Fixture;
let bundle: string;
let manifest: string;

beforeAll(async () => {
  f = await fixture();
  const names = await f.files('q', 1);
  manifest = await f.manifest('q.yaml', 'fifo-lock', names.map((url) => ({ url, path: 'q/' })));
  bundle = (await f.pack(manifest, 'out-q')).bundle;
});

/** The run must end by itself well before this: a blocking read of the FIFO would hang it until killed. */
const QUICK = { timeoutMs: 60_000 };

describe('a FIFO at a lock path', () => {
  it('the ledger lock: unpack exits 2 naming it, publishes nothing', async () => {
    const ledger = join(f.work, 'fifo-ledger.jsonl');
    await execa('mkfifo', [`${ledger}.lock`]);
    const mirror = join(f.work, 'mirror-fifo');
    const r = await runAirgap(f.unpackArgs(bundle, `dir:${mirror}`, ledger), { cwd: f.work, ...QUICK });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${ledger}.lock: the lock file is a FIFO, not a regular file: refused without reading it`);
    await expect(stat(join(mirror, 'q'))).rejects.toThrow();
    await expect(stat(ledger)).rejects.toThrow();
  });

  it('the dir: mirror lock: unpack exits 2 naming it', async () => {
    const mirror = join(f.work, 'mirror-fifo-2');
    await mkdir(mirror);
    await execa('mkfifo', [join(mirror, '.airgap-lock')]);
    const r = await runAirgap(f.unpackArgs(bundle, `dir:${mirror}`, join(f.work, 'ledger-2.jsonl')), { cwd: f.work, ...QUICK });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${join(mirror, '.airgap-lock')}: the lock file is a FIFO`);
    await expect(stat(join(mirror, 'q'))).rejects.toThrow();
  });

  it('the pack output lock: pack exits 2 naming it', async () => {
    const out = join(f.work, 'out-fifo');
    await mkdir(out);
    await execa('mkfifo', [join(out, '.airgap-pack.lock')]);
    const r = await runAirgap(['pack', manifest, '--out', out, '--key', join(f.keys, 'outside.key'), '--cache', f.cache], { cwd: f.work, ...QUICK });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${join(out, '.airgap-pack.lock')}: the lock file is a FIFO`);
  });
});
