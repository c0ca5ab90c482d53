/**
 * Contract (docs/transfers.md "One limit"): `--concurrency N` is the number of transfers in flight at
 * once, across every artifact and ecosystem, on both sides. Through the real CLI, one bundle mixing all
 * seven ecosystems (upstreams of test/approval/seven-kinds.ts) is packed with `--concurrency 2` while
 * loopback proxies in front of every upstream count requests in flight, and unpacked with
 * `--concurrency 2` into a Nexus target (the Nexus test double, its Docker endpoint a real
 * docker-registry) counted the same way. A run with `--concurrency 6` on each side is the control: it
 * shows the gauges see more than two at once when the limit allows it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gauge, type GaugeProxy, newGauge, runAirgap, runAirgapJson, startGaugeProxy, tempDir } from '../harness/index.js';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { type Registry, startRegistry } from '../oci/registry-fixtures.js';
import { type SevenKinds, sevenKinds } from '../approval/seven-kinds.js';

let work: string;
let fx: SevenKinds;
let keys: string;
let manifest: string;
const upstreams: { gauge: Gauge; proxies: GaugeProxy[] } = { gauge: newGauge(), proxies: [] };

beforeAll(async () => {
  work = await tempDir('airgap-limit-');
  keys = join(work, 'keys');
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  fx = await sevenKinds(work);
  const origins = [`http://${fx.registry.host}/`, fx.site.url, fx.pypi.url, fx.npm.url.replace(/\/?$/, '/')];
  upstreams.proxies = await Promise.all(origins.map((o) => startGaugeProxy(o, { gauge: upstreams.gauge, holdMs: 50 })));
  let text = fx.manifest('limit');
  origins.forEach((o, i) => {
    text = text.split(o.replace(/^http:\/\//, '').replace(/\/$/, '')).join(upstreams.proxies[i].host);
  });
  manifest = join(work, 'limit.yaml');
  await writeFile(manifest, text);
}, 600_000);

afterAll(async () => {
  await Promise.allSettled(upstreams.proxies.map((p) => p.stop()));
  await fx?.stop();
});

async function pack(concurrency: number): Promise<{ bundle: string; max: number; requests: number }> {
  upstreams.gauge.max = 0;
  const before = upstreams.proxies.reduce((n, p) => n + p.requests.length, 0);
  const r = await runAirgapJson<{ bundle: string; countsByKind: Record<string, { packed: number }> }>([
    'pack', manifest, '--out', join(work, `out-${concurrency}`), '--key', join(keys, 'outside.key'), '--cache', join(work, `cache-${concurrency}`),
    '--concurrency', String(concurrency),
  ], { cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  expect(Object.keys(r.json.countsByKind).sort()).toEqual(['apt', 'chart', 'file', 'image', 'npm', 'pypi', 'yum']);
  const requests = upstreams.proxies.reduce((n, p) => n + p.requests.length, 0) - before;
  return { bundle: r.json.bundle, max: upstreams.gauge.max, requests };
}

interface Inside {
  nexus: NexusDouble;
  connector: Registry;
  gauge: Gauge;
  proxies: GaugeProxy[];
  stop(): Promise<void>;
}

async function inside(name: string): Promise<Inside> {
  const gauge = newGauge();
  const nexus = await startNexusDouble();
  const connector = await startRegistry(join(work, `connector-${name}`), { type: 'htpasswd', user: DEFAULT_USER.username, password: DEFAULT_USER.password });
  const proxies = [await startGaugeProxy(nexus.url, { gauge, holdMs: 100 }), await startGaugeProxy(`http://${connector.host}/`, { gauge, holdMs: 100 })];
  return {
    nexus, connector, gauge, proxies,
    async stop() {
      await Promise.allSettled(proxies.map((p) => p.stop()));
      await Promise.allSettled([nexus.close(), connector.stop()]);
    },
  };
}

async function unpack(bundle: string, to: Inside, concurrency: number): Promise<void> {
  const config = join(work, `config-${concurrency}.yaml`);
  await writeFile(config, [
    `trust: [${join(keys, 'outside.pub')}]`,
    'targets:',
    '  nexus:',
    '    type: nexus',
    `    url: ${to.proxies[0].url}`,
    '    usernameEnv: NEXUS_USER',
    '    passwordEnv: NEXUS_PASSWORD',
    '    repositories: { docker: docker-hosted, helm: helm-hosted, apt: apt-hosted, yum: yum-hosted, pypi: pypi-hosted, npm: npm-hosted, raw: raw-hosted }',
    `    endpoints: { docker: "${to.proxies[1].url}" }`,
    '',
  ].join('\n'));
  to.gauge.max = 0;
  const r = await runAirgapJson<{ counts: Record<string, number> }>([
    'unpack', bundle, '--to', 'nexus', '--config', config, '--ledger', join(work, `ledger-${concurrency}.jsonl`), '--concurrency', String(concurrency),
  ], { cwd: work, env: { NEXUS_USER: DEFAULT_USER.username, NEXUS_PASSWORD: DEFAULT_USER.password } });
  expect(r.exitCode, r.stderr).toBe(0);
  expect(r.json.counts.failed ?? 0).toBe(0);
  expect(r.json.counts.pushed).toBeGreaterThan(7);
  expect(to.nexus.writes().length).toBeGreaterThan(0);
}

describe('--concurrency bounds the transfers a server sees, pack and unpack, all seven ecosystems', () => {
  let bundle2: string;

  it('pack --concurrency 2: the upstreams never see more than 2 requests at once; --concurrency 6 lets more through', async () => {
    const two = await pack(2);
    bundle2 = two.bundle;
    expect(two.requests).toBeGreaterThan(20);
    expect(two.max).toBeLessThanOrEqual(2);
    expect(two.max).toBe(2);
    const six = await pack(6);
    expect(six.max).toBeGreaterThan(2);
  }, 900_000);

  it('unpack --concurrency 2 into Nexus: the target never sees more than 2 requests at once; --concurrency 6 lets more through', async () => {
    expect(bundle2).toBeDefined();
    const a = await inside('two');
    try {
      await unpack(bundle2, a, 2);
      expect(a.gauge.max).toBeLessThanOrEqual(2);
      expect(a.gauge.max).toBe(2);
    } finally {
      await a.stop();
    }
    const b = await inside('six');
    try {
      await unpack(bundle2, b, 6);
      expect(b.gauge.max).toBeGreaterThan(2);
    } finally {
      await b.stop();
    }
  }, 900_000);
});
