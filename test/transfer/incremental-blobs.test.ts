/**
 * Issue 14 "must show", blob-level incremental bundles (docs/transfer.md): image v2 shares its base layer
 * with v1, which is inside per the receipt. The incremental bundle holds none of the shared layers
 * (listed with GNU tar); unpacked into the registry that holds v1 (Docker's docker-registry), v2 is
 * pullable with its upstream digest (skopeo); into a registry without v1 it exits 1 naming the layers.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';
import { type Registry, buildFixtureLayout, inspectRaw, skopeoCopy, startRegistry } from '../oci/registry-fixtures.js';

let work: string;
let src: Registry;
let inside: Registry;
let empty: Registry;
let keys: string;
let configFile: string;
let layout: string;

const layersOf = async (tag: string): Promise<string[]> => {
  const idx = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const m = idx.manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === tag)!;
  const manifest = JSON.parse(await readFile(join(layout, 'blobs/sha256', m.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
  return manifest.layers.map((l) => l.digest);
};

async function manifest(name: string, ref: string): Promise<string> {
  const p = join(work, `${name}.yaml`);
  await writeFile(p, `apiVersion: airgap/v1\nkind: Bundle\nname: ${name}\nimages:\n  - ref: ${src.host}/${ref}\n`);
  return p;
}

async function pack(m: string, extra: string[] = []): Promise<string> {
  const r = await runAirgapJson<{ bundle: string }>(['pack', m, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--config', configFile, ...extra]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.json.bundle;
}

const unpackTo = (bundle: string, target: string, ledger: string) =>
  runAirgapJson(['unpack', bundle, '--to', target, '--pub', join(keys, 'outside.pub'), '--ledger', ledger, '--config', configFile]);

let v2bundle: string;
let shared: string[];
let own: string[];

beforeAll(async () => {
  work = await tempDir('airgap-incremental-');
  layout = await buildFixtureLayout(join(work, 'fixture'));
  src = await startRegistry(join(work, 'src'));
  inside = await startRegistry(join(work, 'inside'));
  empty = await startRegistry(join(work, 'empty'));
  // v1 = busybox layer; v2 = the same busybox layer plus a layer of its own (umoci-built).
  await skopeoCopy(`oci:${layout}:amd64`, `docker://${src.host}/team/app:1`);
  await skopeoCopy(`oci:${layout}:app`, `docker://${src.host}/team/app:2`);
  const v1 = await layersOf('amd64');
  const v2 = await layersOf('app');
  shared = v2.filter((l) => v1.includes(l));
  own = v2.filter((l) => !v1.includes(l));
  expect(shared.length).toBeGreaterThan(0);
  expect(own.length).toBeGreaterThan(0);
  keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  configFile = join(work, 'airgap.yaml');
  await writeFile(configFile, [
    `cache: ${join(work, 'cache')}`,
    'targets:',
    '  inside:',
    '    type: registries',
    `    endpoints: { docker: "http://${inside.host}/" }`,
    '  other:',
    '    type: registries',
    `    endpoints: { docker: "http://${empty.host}/" }`,
    '',
  ].join('\n'));

  // v1 crosses in full and is unpacked; the ledger's receipt goes back outside.
  const v1bundle = await pack(await manifest('app-v1', 'team/app:1'));
  const ledger = join(work, 'ledger.jsonl');
  const u = await unpackTo(v1bundle, 'inside', ledger);
  expect(u.exitCode, u.stderr).toBe(0);
  const receipt = join(work, 'receipt.json');
  const rc = await runAirgap(['ledger', 'receipt', ledger, '--out', receipt]);
  expect(rc.exitCode, rc.stderr).toBe(0);
  const r = JSON.parse(await readFile(receipt, 'utf8'));
  for (const l of shared) expect(r.carried[l]).toMatchObject({ kind: 'image', targets: ['inside'], bundle: { name: 'app-v1' } });
  v2bundle = await pack(await manifest('app-v2', 'team/app:2'), ['--since', receipt]);
});

afterAll(async () => {
  await src?.stop();
  await inside?.stop();
  await empty?.stop();
});

describe('pack --since: blobs already inside are not carried', () => {
  it('the v2 bundle holds none of the shared layers, but its own (GNU tar)', async () => {
    const { stdout } = await execa('sh', ['-c', 'cat part-* | tar -tf -'], { cwd: v2bundle });
    const entries = stdout.trim().split('\n');
    for (const l of shared) expect(entries).not.toContain(`blobs/sha256/${l.slice(7)}`);
    for (const l of own) expect(entries).toContain(`blobs/sha256/${l.slice(7)}`);
  });

  it('the index marks the shared layers external, with their size and the bundle that carried them', async () => {
    const { stdout } = await execa('sh', ['-c', 'cat part-* | tar -xOf - airgap-index.json'], { cwd: v2bundle });
    const index = JSON.parse(stdout);
    expect(index.external.map((b: { digest: string }) => b.digest).sort()).toEqual([...shared].sort());
    for (const b of index.external) expect(b).toMatchObject({ kind: 'image', target: null, carriedBy: { name: 'app-v1' } });
    expect(index.external.every((b: { size: number }) => b.size > 0)).toBe(true);
  });

  it('unpacked into the registry that holds v1, v2 is pullable with its upstream digest (skopeo)', async () => {
    const u = await unpackTo(v2bundle, 'inside', join(work, 'ledger.jsonl'));
    expect(u.exitCode, u.stderr).toBe(0);
    const name = `127.0.0.1_${src.host.split(':')[1]}/team/app:2`;
    const upstream = await inspectRaw(`docker://${src.host}/team/app:2`);
    const there = await inspectRaw(`docker://${inside.host}/${name}`);
    expect(there.digest).toBe(upstream.digest);
    const pulled = join(work, 'pulled');
    await skopeoCopy(`docker://${inside.host}/${name}`, `oci:${pulled}:app`);
    const got = JSON.parse(await readFile(join(pulled, 'index.json'), 'utf8'));
    expect(got.manifests[0].digest).toBe(upstream.digest);
  });

  it('into a registry without v1 it exits 1 naming every missing layer and the bundle that carried it; nothing is pushed', async () => {
    const u = await runAirgap(['unpack', v2bundle, '--to', 'other', '--pub', join(keys, 'outside.pub'), '--ledger', join(work, 'other.jsonl'), '--config', configFile]);
    expect(u.exitCode, u.stderr).toBe(1);
    for (const l of shared) expect(u.stderr).toContain(l);
    expect(u.stderr).toContain('carried by bundle app-v1');
    const catalog = await fetch(`http://${empty.host}/v2/_catalog`).then((r) => r.json() as Promise<{ repositories: string[] }>);
    expect(catalog.repositories).toEqual([]);
  });
});
