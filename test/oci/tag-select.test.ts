/**
 * Issue 21 item 9: image tag selection (docs/manifest.md "images", `repo` + `tags`) against a real
 * docker-registry holding 105 tags, so `tags/list` comes in two pages (n=100, then the Link the registry
 * sends). The selection is printed (dry run and pack), recorded in the signed index (`meta.selectedBy`)
 * and in the ledger at unpack; rules that select nothing and a bad range are exit 2.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '@airgap/core';
import { readIndexUnverified } from '@airgap/bundle';
import { RegistryClient, listTags, selectTags } from '@airgap/oci';
import { runAirgap, tempDir } from '../harness/index.js';
import { type RecordingProxy, type Registry, buildFixtureLayout, skopeoCopy, startRecordingProxy, startRegistry } from './registry-fixtures.js';

let work: string;
let src: Registry;
let proxy: RecordingProxy;
let keys: string;
const TAGS: string[] = [];
for (let minor = 24; minor <= 29; minor++) for (let patch = 0; patch <= 16; patch++) TAGS.push(`v1.${minor}.${patch}`);
TAGS.push('latest', '1.27', 'v1.28.2-rc.1');

beforeAll(async () => {
  work = await tempDir('airgap-tag-select-');
  const layout = await buildFixtureLayout(join(work, 'fixture'));
  src = await startRegistry(join(work, 'src'));
  proxy = await startRecordingProxy(src.host);
  await skopeoCopy(`oci:${layout}:amd64`, `docker://${src.host}/team/kube:seed`);
  // Every other tag by a manifest PUT of the same bytes (the registry has the blobs already).
  const m = await fetch(`${src.url}v2/team/kube/manifests/seed`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  const type = m.headers.get('content-type')!;
  const bytes = Buffer.from(await m.arrayBuffer());
  for (const tag of TAGS) {
    const r = await fetch(`${src.url}v2/team/kube/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': type }, body: bytes });
    expect(r.status, tag).toBe(201);
  }
  const k = await runAirgap(['keygen', '--out-dir', (keys = join(work, 'keys')), '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
});

afterAll(async () => {
  await proxy?.stop();
  await src?.stop();
});

async function manifest(name: string, tags: string): Promise<string> {
  const p = join(work, `${name}.yaml`);
  await writeFile(p, `apiVersion: airgap/v1\nkind: Bundle\nname: ${name}\nimages:\n  - repo: ${proxy.host}/team/kube\n    tags: ${tags}\n    signatures: false\n`);
  return p;
}

const WANT = ['v1.27.16', 'v1.27.15', 'v1.27.14'];
const RULES = String.raw`{ semver: ">=1.27 <1.29", regex: "^v?1\\.27", newest: 3 }`;

describe('image tag selection', () => {
  it('tags/list is read over every page of the real registry, and the selection does not depend on its order', async () => {
    const client = new RegistryClient({ base: `http://${src.host}/`, http: new HttpClient({ retries: 0 }), side: 'upstream' });
    const paged = await listTags(client, 'team/kube', { pageSize: 7 });
    expect(paged.sort()).toEqual([...TAGS, 'seed'].sort());
    const sel = { semver: '>=1.27 <1.29', regex: '^v?1\\.27', newest: 3 };
    expect(selectTags(paged, sel, 'x')).toEqual(WANT);
    expect(selectTags([...paged].reverse(), sel, 'x')).toEqual(WANT);
    // Pre-releases only when the range names one; non-versions never by semver.
    expect(selectTags(paged, { semver: '>=1.28.2-rc.0 <1.28.3' }, 'x')).toEqual(['v1.28.2', 'v1.28.2-rc.1']);
    expect(selectTags(paged, { regex: '^1\\.27$' }, 'x')).toEqual(['1.27']);
    expect(() => selectTags([...paged, `sha256-${'a'.repeat(64)}.sig`], { regex: '^sha256-' }, 'x')).toThrow(/no tag matches/);
  }, 120_000);

  it('dry run and pack print the resolved tags; the index and the ledger record them', async () => {
    const m = await manifest('kube', RULES);
    const before = proxy.requests.length;
    const dry = await runAirgap(['pack', m, '--dry-run', '--out', join(work, 'out-dry'), '--cache', join(work, 'cache')]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const printed = `image ${proxy.host}/team/kube: tags semver ">=1.27 <1.29", regex "^v?1\\\\.27", newest 3 → ${WANT.join(', ')} (of ${TAGS.length + 1} listed)`;
    expect(dry.stdout + dry.stderr).toContain(printed);
    for (const t of WANT) expect(dry.stdout).toContain(`${proxy.host}/team/kube:${t}`);
    const lists = proxy.requests.slice(before).filter((r) => r.path.includes('/tags/list'));
    expect(lists.length).toBe(2);

    const packed = await runAirgap(['pack', m, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')]);
    expect(packed.exitCode, packed.stderr).toBe(0);
    expect(packed.stdout + packed.stderr).toContain(printed);
    const [name] = (await readdir(join(work, 'out'))).filter((f) => f.startsWith('kube'));
    const bundle = join(work, 'out', name);
    const index = await readIndexUnverified(bundle);
    expect(index.artifacts.map((a) => [a.version, a.meta?.selectedBy])).toEqual(WANT.map((t) => [t, 'semver ">=1.27 <1.29", regex "^v?1\\\\.27", newest 3']));

    const mirror = join(work, 'mirror');
    const ledger = join(work, 'ledger.jsonl');
    const u = await runAirgap(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', ledger]);
    expect(u.exitCode, u.stderr).toBe(0);
    const recs = (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { kind: string; version: string; action: string });
    expect(recs.filter((r) => r.kind === 'image' && r.action === 'pushed').map((r) => r.version).sort()).toEqual([...WANT].sort());
  }, 300_000);

  it('rules that select nothing, and a range that is not one, are exit 2; ref with repo is refused by the schema', async () => {
    const none = await runAirgap(['pack', await manifest('none', '{ semver: ">=2" }'), '--dry-run', '--out', join(work, 'o1'), '--cache', join(work, 'cache')]);
    expect(none.exitCode, none.stderr).toBe(2);
    expect(none.stderr).toContain(`image ${proxy.host}/team/kube: no tag matches tags { semver: ">=2" }`);
    expect(none.stderr).toContain('highest tags it has: v1.29.16, v1.29.15');
    const before = proxy.requests.length;
    const bad = await runAirgap(['pack', await manifest('bad', '{ semver: "one point two" }'), '--dry-run', '--out', join(work, 'o2'), '--cache', join(work, 'cache')]);
    expect(bad.exitCode, bad.stderr).toBe(2);
    expect(bad.stderr).toContain('tags.semver "one point two" is not a semver range');
    expect(proxy.requests.length).toBe(before);
    const p = join(work, 'both.yaml');
    await writeFile(p, `apiVersion: airgap/v1\nkind: Bundle\nname: both\nimages:\n  - ref: ${proxy.host}/team/kube:seed\n    repo: ${proxy.host}/team/kube\n    tags: { newest: 1 }\n`);
    const both = await runAirgap(['pack', p, '--dry-run', '--out', join(work, 'o3')]);
    expect(both.exitCode, both.stderr).toBe(2);
    expect(both.stderr).toMatch(/images\[0\]/);
  }, 120_000);
});
