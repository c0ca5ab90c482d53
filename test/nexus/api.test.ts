import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { TargetError } from '@airgap/core';
import type { NexusApi } from '@airgap/nexus';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { nexusTarget, openNexus } from './support.js';

let double: NexusDouble;
afterEach(async () => {
  await double?.close();
});

async function api(opts: Parameters<typeof startNexusDouble>[0] = {}): Promise<NexusApi> {
  double = await startNexusDouble(opts);
  const { opened } = await openNexus(double, { target: nexusTarget(double, { repositories: {} }), formats: [] });
  return (opened.services as { nexus: NexusApi }).nexus;
}

const file = (name: string, bytes: Buffer) => ({ name, filename: 'ignored', size: bytes.length, open: () => Readable.from([bytes]) });
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as TargetError);

describe('NexusApi against the double', () => {
  it('uploads raw components through the Components API (204) with streamed multipart parts', async () => {
    const nexus = await api();
    const one = randomBytes(70_000);
    const two = randomBytes(10);
    await nexus.uploadComponent('raw-hosted', [
      { name: 'raw.directory', value: '/charts/' },
      file('raw.asset1', one), { name: 'raw.asset1.filename', value: 'a.tgz' },
      file('raw.asset2', two), { name: 'raw.asset2.filename', value: 'b "quoted".txt' },
    ]);
    const post = double.writes()[0];
    expect(`${post.method} ${post.path}?${post.query} ${post.status}`).toBe('POST /service/rest/v1/components?repository=raw-hosted 204');
    expect((await double.storage.read('raw-hosted', 'charts/a.tgz'))!.equals(one)).toBe(true);
    expect((await double.storage.read('raw-hosted', 'charts/b "quoted".txt'))!.equals(two)).toBe(true);
  });

  it('reports the 400 validation array in the message', async () => {
    const nexus = await api();
    const e = await failure(nexus.uploadComponent('raw-hosted', [file('raw.asset1', randomBytes(5)), { name: 'raw.asset1.colour', value: 'red' }], 'file x'));
    expect(e).toBeInstanceOf(TargetError);
    expect(e.message).toMatch(/^file x: POST .*components\?repository=raw-hosted: HTTP 400 rejected/);
    expect(e.message).toContain("Missing required component field 'Directory'");
    expect(e.message).toContain("Unknown field 'colour' on asset '1'");
  });

  it('names the hosted-only rule for a proxy repository, and 404 for an unknown one', async () => {
    const nexus = await api({ repositories: [{ name: 'raw-proxy', format: 'raw', type: 'proxy' }] });
    const parts = [{ name: 'raw.directory', value: 'd' }, file('raw.asset1', randomBytes(5)), { name: 'raw.asset1.filename', value: 'f' }];
    const proxy = await failure(nexus.uploadComponent('raw-proxy', parts));
    expect(proxy.message).toContain("Uploading components to a 'proxy' type repository is unsupported, must be 'hosted'");
    const missing = await failure(nexus.uploadComponent('nope', parts));
    expect(missing.message).toMatch(/HTTP 404 — repository nope not found — Unable to locate repository with id nope/);
    expect(missing.hint).toMatch(/create the hosted repository nope/);
  });

  it('turns the "Not authorized for requested path" 400 into a privilege hint', async () => {
    const nexus = await api({ users: [{ ...DEFAULT_USER, write: [] }] });
    const e = await failure(nexus.uploadComponent('raw-hosted', [{ name: 'raw.directory', value: 'd' }, file('raw.asset1', randomBytes(5)), { name: 'raw.asset1.filename', value: 'f' }]));
    expect(e.message).toContain("Not authorized for requested path 'd/f'");
    expect(e.hint).toContain('nx-repository-view-raw-raw-hosted-add');
  });

  it('searches assets by sha256 and by path across pages', async () => {
    const nexus = await api();
    const repo = double.repositories.get('raw-hosted')!;
    const target = randomBytes(32);
    for (let i = 0; i < 120; i++) await double.storage.put(repo, `bulk/f${i}`, randomBytes(8), { component: { name: `bulk/f${i}`, group: '/bulk' } });
    await double.storage.put(repo, 'deep/x.bin', target, { component: { name: 'deep/x.bin', group: '/deep' } });
    const all = await nexus.searchAssets({ repository: 'raw-hosted' });
    expect(all).toHaveLength(121);
    expect(double.requests.filter((r) => r.path.endsWith('/search/assets')).length).toBe(3); // 50 + 50 + 21
    const hex = createHash('sha256').update(target).digest('hex');
    const bySha = await nexus.assetsBySha256('raw-hosted', `sha256:${hex}`);
    expect(bySha.map((a) => a.path)).toEqual(['deep/x.bin']);
    expect((await nexus.assetAtPath('raw-hosted', '/deep/x.bin'))?.checksum.sha256).toBe(hex);
    expect(await nexus.assetAtPath('raw-hosted', 'deep/other.bin')).toBeUndefined();
  });

  it('reads the write policy when the user may, and says nothing when it may not', async () => {
    let nexus = await api({ users: [{ ...DEFAULT_USER, admin: true }] });
    expect(await nexus.writePolicy({ name: 'raw-hosted', format: 'raw' })).toBe('ALLOW_ONCE');
    await double.close();
    nexus = await api();
    expect(await nexus.writePolicy({ name: 'raw-hosted', format: 'raw' })).toBeUndefined();
  });

  it('explains 402 (licence) and 5xx after retries', async () => {
    const nexus = await api();
    double.fail({ path: '/service/rest/v1/repositories', status: 402, statusText: 'Payment Required' });
    const lic = await failure(nexus.repositories());
    expect(lic.message).toMatch(/HTTP 402 .*licence/);
    double.fail({ path: '/service/rest/v1/repositories', status: 502, times: 10 });
    const down = await failure(nexus.repositories());
    expect(down.message).toMatch(/HTTP 502/);
    expect(down.hint).toMatch(/after retries/);
    // 1 (the 402, not retried) + 4 (first try and 3 retries)
    expect(double.requests.filter((r) => r.path === '/service/rest/v1/repositories')).toHaveLength(5);
  });
});
