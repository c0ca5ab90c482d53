/**
 * Manifest PUTs into one repository go one at a time (docs/transfers.md "One limit"): an index and the
 * platform images it lists, all in one bundle under one repository, are pushed side by side, and a PUT
 * rewrites the manifest's revision link that an index PUT checking that child reads. Counted at a proxy
 * that holds each request, so PUTs that may overlap do; the real CLI against real docker-registries.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gauge, type GaugeProxy, newGauge, startGaugeProxy } from '../harness/gauge-proxy.js';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';
import { type Registry, buildFixtureLayout, skopeoCopy, startRegistry } from './registry-fixtures.js';

let work: string;
let src: Registry;
let dst: Registry;
let proxy: GaugeProxy;
const puts: Gauge = newGauge();

beforeAll(async () => {
  work = await tempDir('airgap-manifest-puts-');
  const layout = await buildFixtureLayout(join(work, 'fixture'));
  src = await startRegistry(join(work, 'src'));
  dst = await startRegistry(join(work, 'dst'));
  proxy = await startGaugeProxy(`http://${dst.host}/`, { holdMs: 150, gauge: puts, counts: ({ method, url }) => method === 'PUT' && url.includes('/manifests/') });
  for (const tag of ['multi', 'amd64', 'arm64']) await skopeoCopy(`oci:${layout}:${tag}`, `docker://${src.host}/team/x:${tag}`, ['--all']);
});

afterAll(async () => {
  await proxy?.stop();
  await src?.stop();
  await dst?.stop();
});

describe('manifest PUTs into one repository', () => {
  it('an index and its platform images by tag: exit 0, never two manifest PUTs at once', async () => {
    const keys = join(work, 'keys');
    await mkdir(keys);
    expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'k'])).exitCode).toBe(0);
    await writeFile(join(work, 'm.yaml'), ['apiVersion: airgap/v1', 'kind: Bundle', 'name: puts', 'images:',
      ...['multi', 'amd64', 'arm64'].map((t) => `  - ref: ${src.host}/team/x:${t}`), ''].join('\n'));
    const config = join(work, 'airgap.yaml');
    await writeFile(config, `cache: ${join(work, 'cache')}\ntargets:\n  reg: { type: registries, endpoints: { docker: "http://${proxy.host}/" } }\n`);
    const p = await runAirgapJson(['pack', join(work, 'm.yaml'), '--out', join(work, 'out'), '--key', join(keys, 'k.key'), '--config', config]);
    expect(p.exitCode, p.stderr).toBe(0);
    const u = await runAirgapJson(['unpack', p.json.bundle, '--to', 'reg', '--pub', join(keys, 'k.pub'), '--config', config, '--ledger', join(work, 'ledger.jsonl'), '--concurrency', '6']);
    expect(u.exitCode, `${u.stderr}\n${JSON.stringify(u.json.failures)}`).toBe(0);
    const manifestPuts = proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/manifests/'));
    // multi's children by digest (amd64, arm64, the attestation) and the three tags.
    expect(manifestPuts.length).toBeGreaterThanOrEqual(4);
    expect(puts.max).toBe(1);
  });
});
