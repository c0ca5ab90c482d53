/**
 * Contract (docs/transfers.md "One limit"): a Nexus target's preflight is one transfer of the run's
 * `--concurrency` limit. Opened through openTarget (the one place unpack opens targets) with an engine of
 * limit 1 whose slot another transfer holds, the driver sends no REST request to the Nexus double until
 * that slot is free; then preflight runs and passes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { HttpClient, type NexusTargetConfig, type ResolvedTarget, Transfers, silentLogger } from '@airgap/core';
import { openTarget } from '../../src/publish-targets.js';
import { ecosystems } from '../../src/ecosystems.js';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';

let double: NexusDouble | undefined;
afterAll(async () => {
  await double?.close();
});

describe('Nexus preflight waits for a slot of the global concurrency limit', () => {
  it('sends nothing while the only slot is taken, and preflights once it is free', async () => {
    double = await startNexusDouble();
    const config: NexusTargetConfig = { type: 'nexus', url: double.url, usernameEnv: 'NX_USER', passwordEnv: 'NX_PASS', repositories: { raw: 'raw-hosted' } };
    const target: ResolvedTarget = { type: 'nexus', name: 'nexus', config };
    const http = new HttpClient({});
    const transfer = new Transfers({ http, concurrency: 1, progress: () => {}, log: silentLogger });
    await ecosystems.loadTargets(['nexus']);

    let release!: () => void;
    const holder = transfer.run(() => new Promise<void>((r) => (release = r)));
    const tick = () => new Promise((r) => setTimeout(r, 10));
    while (transfer.load.active === 0) await tick(); // p-limit starts a job on a later tick
    const opening = openTarget(target, new Set(['raw']), {
      http, config: { targets: { nexus: config } }, log: silentLogger, progress: () => {}, dryRun: false,
      env: { NX_USER: DEFAULT_USER.username, NX_PASS: DEFAULT_USER.password },
      blobs: { open: () => { throw new Error('nothing is published here'); } },
      bundle: { name: 'limit', created: new Date().toISOString() }, concurrency: 1, transfer,
    });
    let settled = false;
    void opening.then(() => (settled = true), () => (settled = true));

    // The open either queues its preflight behind the held slot, or (the regression) finishes without it.
    while (transfer.load.pending === 0 && !settled) await tick();
    expect(settled, 'the target opened while the only slot was taken: its preflight did not wait for the limit').toBe(false);
    expect(transfer.load).toEqual({ active: 1, pending: 1 });
    expect(double.requests.filter((r) => r.path.startsWith('/service/rest/'))).toEqual([]);

    release();
    await holder;
    const opened = await opening;
    const asked = double.requests.map((r) => `${r.method} ${r.path}`);
    expect(asked).toContain('GET /service/rest/v1/status/writable');
    expect(asked).toContain('GET /service/rest/v1/repositories');
    expect((opened.ctx.services as { nexus?: { url: string } }).nexus?.url).toBe(double.url);
    expect(transfer.load).toEqual({ active: 0, pending: 0 });
  });
});
