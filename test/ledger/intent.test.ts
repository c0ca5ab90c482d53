/**
 * Issue 18 item 8: an `intent` record goes into the ledger before each push (docs/ledger.md "Intent
 * records"). The push is held at the target (the Nexus double never answers the PUT), the unpack is killed
 * with SIGKILL there, and the interrupted send is visible in `ledger show` and reported by `ledger verify`
 * and by the next unpack, which settles it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airgapBin, runAirgap, runAirgapJson } from '../harness/index.js';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { type Fixture, fixture, ledgerLines, stopWhen } from './fixtures.js';

let f: Fixture;
let double: NexusDouble;
let bundle: string;
let config: string;
const env = { NO_COLOR: '1', NEXUS_USER: DEFAULT_USER.username, NEXUS_PASSWORD: DEFAULT_USER.password, HTTP_PROXY: undefined, HTTPS_PROXY: undefined, http_proxy: undefined, https_proxy: undefined };

beforeAll(async () => {
  f = await fixture();
  const names = await f.files('i', 2);
  const m = await f.manifest('i.yaml', 'intent', names.map((url) => ({ url, path: 'i/' })));
  bundle = (await f.pack(m, 'out-i')).bundle;
  double = await startNexusDouble();
  config = join(f.work, 'airgap.yaml');
  await writeFile(config, ['targets:', '  nexus:', '    type: nexus', `    url: ${double.url}`, '    usernameEnv: NEXUS_USER', '    passwordEnv: NEXUS_PASSWORD', '    repositories: { raw: raw-hosted }', ''].join('\n'));
});

afterAll(async () => {
  await double?.close();
});

describe('intent records', () => {
  it('a run killed during a push leaves an intent without a result: shown, reported, settled by the next run', async () => {
    const ledger = join(f.work, 'ledger.jsonl');
    const args = ['unpack', bundle, '--to', 'nexus', '--config', config, '--pub', join(f.keys, 'outside.pub'), '--ledger', ledger, '--concurrency', '1'];
    double.fail({ method: 'PUT', hang: true, times: 1 });
    const child = execa(process.execPath, [airgapBin, ...args], { cwd: f.work, reject: false, stdin: 'ignore', env });
    await stopWhen(child, async () => double.requests.some((r) => r.method === 'PUT' && r.fault) && (await ledgerLines(ledger)).some((r) => r.kind === 'intent'));
    child.kill('SIGKILL');
    expect((await child).signal).toBe('SIGKILL');
    const atKill = await ledgerLines(ledger);
    expect(atKill.map((r) => [r.kind, r.action])).toEqual([['run', 'start'], ['intent', 'push']]);
    const intent = atKill[1];
    expect(intent).toMatchObject({ of: 'file', target: 'nexus', seq: 2 });
    expect(intent.digest).toMatch(/^sha256:[a-f0-9]{64}$/);

    const show = await runAirgapJson(['ledger', 'show', ledger]);
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.json.rows.map((r: any) => [r.action, r.kind, r.name])).toEqual([['start', 'run', 'intent'], ['intent', 'file', intent.name]]);
    const v1 = await runAirgap(['ledger', 'verify', ledger]);
    expect(v1.exitCode, v1.stderr).toBe(0);
    expect(v1.stderr).toMatch(new RegExp(`1 send of interrupted runs has no result \\(the first: seq 2, file ${intent.name} → nexus, run ${intent.run}.*0 of them a later run found or pushed at the target, 1 not yet`));

    const again = await runAirgap(args, { cwd: f.work, env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/1 send of interrupted runs has no result/);
    const records = await ledgerLines(ledger);
    const second = records.filter((r) => r.run !== intent.run);
    // Each push of the second run has its intent first and its result after it.
    for (const r of second.filter((x) => x.kind === 'file' && x.action === 'pushed')) {
      const i = second.find((x) => x.kind === 'intent' && x.name === r.name);
      expect(i, r.name).toBeDefined();
      expect(i.seq).toBeLessThan(r.seq);
    }
    expect(second.filter((r) => r.kind === 'file' && r.name === intent.name).map((r) => r.action)).toEqual([expect.stringMatching(/^(pushed|present)$/)]);
    const v2 = await runAirgap(['ledger', 'verify', ledger]);
    expect(v2.exitCode, v2.stderr).toBe(0);
    expect(v2.stderr).toMatch(/1 send of interrupted runs has no result .*a later run found or pushed every one of them at the target/);
    const receipt = await runAirgapJson(['ledger', 'receipt', ledger, '--out', join(f.work, 'receipt.json')]);
    expect(receipt.exitCode, receipt.stderr).toBe(0);
    expect(receipt.json.artifacts).toBe(2);
  });
});
