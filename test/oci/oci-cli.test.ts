/**
 * OCI end to end through the CLI: pack from a real docker-registry → verify → unpack into a second
 * real docker-registry (behind a recording proxy that counts requests), checked with skopeo and GNU tar.
 */
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';
import {
  type RecordingProxy, type Registry, buildFixtureLayout, inspectRaw, manifestDigestInLayout, skopeoCopy, startRecordingProxy,
  startRegistry,
} from './registry-fixtures.js';

let work: string;
let layout: string;
let src: Registry;
let dst: Registry;
let dstProxy: RecordingProxy;
let srcProxy: RecordingProxy;
let keys: string;
let configFile: string;
let bundle: string;
let hostSeg: string;

const pub = () => join(keys, 'outside.pub');

beforeAll(async () => {
  work = await tempDir('airgap-oci-cli-');
  layout = await buildFixtureLayout(join(work, 'fixture'));
  src = await startRegistry(join(work, 'src'));
  dst = await startRegistry(join(work, 'dst'));
  dstProxy = await startRecordingProxy(dst.host);
  srcProxy = await startRecordingProxy(src.host);
  hostSeg = `127.0.0.1_${src.host.split(':')[1]}`;
  await skopeoCopy(`oci:${layout}:multi`, `docker://${src.host}/team/multi:1`, ['--all']);
  await skopeoCopy(`oci:${layout}:multi`, `docker://${src.host}/team/multi-arm:1`, ['--all']);
  await skopeoCopy(`oci:${layout}:amd64`, `docker://${src.host}/team/one:1`);
  await skopeoCopy(`oci:${layout}:app`, `docker://${src.host}/team/two:1`);
  keys = join(work, 'keys');
  await mkdir(keys, { recursive: true });
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  configFile = join(work, 'airgap.yaml');
  await writeFile(configFile, [
    `cache: ${join(work, 'cache')}`,
    'targets:',
    '  reg:',
    '    type: registries',
    `    endpoints: { docker: "http://${dstProxy.host}/" }`,
    '',
  ].join('\n'));
  await writeFile(join(work, 'images.yaml'), [
    'apiVersion: airgap/v1',
    'kind: Bundle',
    'name: images',
    'images:',
    `  - ref: ${src.host}/team/multi:1`,
    `  - ref: ${src.host}/team/multi-arm:1`,
    '    platforms: [linux/arm64]',
    `  - ref: ${src.host}/team/one:1`,
    `  - ref: ${src.host}/team/two:1`,
    '',
  ].join('\n'));
  const p = await runAirgapJson<{ bundle: string; artifacts: number }>(['pack', join(work, 'images.yaml'), '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--config', configFile]);
  expect(p.exitCode, p.stderr).toBe(0);
  bundle = p.json.bundle;
  expect(p.json.artifacts).toBe(4);
});

afterAll(async () => {
  await srcProxy?.stop();
  await dstProxy?.stop();
  await src?.stop();
  await dst?.stop();
});

async function tarList(dir: string): Promise<string[]> {
  const parts = (await readdir(dir)).filter((f) => f.startsWith('part-')).sort().map((f) => join(dir, f));
  const { stdout } = await execa('sh', ['-c', 'cat "$@" | tar -tf -', 'sh', ...parts]);
  return stdout.split('\n').filter(Boolean);
}

describe('images end to end: pack → verify → unpack into a second docker-registry', () => {
  it('the bundle tar is an OCI layout skopeo reads, with each shared layer once', async () => {
    const entries = await tarList(bundle);
    expect(entries).toContain('oci-layout');
    expect(entries).toContain('index.json');
    const busyboxLayer = JSON.parse((await inspectRaw(`docker://${src.host}/team/one:1`)).raw).layers[0].digest as string;
    // one:1, two:1 and both platforms of multi share the busybox layer: it is in the tar once.
    expect(entries.filter((e) => e.endsWith(busyboxLayer.slice(7)))).toEqual([`blobs/sha256/${busyboxLayer.slice(7)}`]);
    const blobEntries = entries.filter((e) => e.startsWith('blobs/sha256/'));
    expect(new Set(blobEntries).size).toBe(blobEntries.length);

    const x = join(work, 'extracted');
    await mkdir(x);
    const parts = (await readdir(bundle)).filter((f) => f.startsWith('part-')).sort().map((f) => join(bundle, f));
    await execa('sh', ['-c', 'cat "$@" | tar -xf - -C "$0"', x, ...parts]);
    for (const tag of ['one', 'two']) {
      const read = await inspectRaw(`oci:${x}:${src.host}/team/${tag}:1`);
      expect(read.digest).toBe((await inspectRaw(`docker://${src.host}/team/${tag}:1`)).digest);
    }
    const multi = await inspectRaw(`oci:${x}:${src.host}/team/multi:1`);
    expect(multi.digest).toBe((await inspectRaw(`docker://${src.host}/team/multi:1`)).digest);
  });

  it('verify accepts the bundle', async () => {
    const v = await runAirgap(['verify', bundle, '--pub', pub()]);
    expect(v.exitCode, v.stderr).toBe(0);
  });

  it('unpack pushes every image with the source digests; the filtered one lists only arm64; a re-run sends no blob', async () => {
    const ledger = join(work, 'ledger.jsonl');
    const u = await runAirgapJson<{ artifacts: { name: string; action: string }[] }>(['unpack', bundle, '--to', 'reg', '--pub', pub(), '--config', configFile, '--ledger', ledger]);
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.json.artifacts.map((a) => a.action)).toEqual(['pushed', 'pushed', 'pushed', 'pushed']);

    for (const name of ['multi', 'one', 'two']) {
      const source = await inspectRaw(`docker://${src.host}/team/${name}:1`);
      const target = await inspectRaw(`docker://${dst.host}/${hostSeg}/team/${name}:1`);
      expect(target.digest).toBe(source.digest);
    }
    const arm = await inspectRaw(`docker://${dst.host}/${hostSeg}/team/multi-arm:1`);
    const doc = JSON.parse(arm.raw) as { manifests: { digest: string; platform: { os: string; architecture: string } }[] };
    expect(doc.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`)).toEqual(['linux/arm64']);
    expect(doc.manifests[0].digest).toBe(await manifestDigestInLayout(layout, 'arm64'));
    await skopeoCopy(`docker://${dst.host}/${hostSeg}/team/multi:1`, `oci:${join(work, 'pulled')}:multi`, ['--all']);
    await skopeoCopy(`docker://${dst.host}/${hostSeg}/team/multi-arm:1`, `oci:${join(work, 'pulled')}:arm`, ['--all']);

    const before = dstProxy.requests.length;
    const again = await runAirgapJson<{ artifacts: { action: string }[] }>(['unpack', bundle, '--to', 'reg', '--pub', pub(), '--config', configFile, '--ledger', ledger]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json.artifacts.map((a) => a.action)).toEqual(['present', 'present', 'present', 'present']);
    const sent = dstProxy.requests.slice(before);
    expect(sent.filter((r) => r.method !== 'HEAD' && r.method !== 'GET')).toEqual([]);
    const records = (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { kind: string; action: string });
    expect(records.filter((r) => r.kind === 'image').map((r) => r.action)).toEqual([...Array(4).fill('pushed'), ...Array(4).fill('present')]);
  });

  it('unpack --to dir: writes an OCI layout under oci/ that skopeo reads; a re-run finds everything present', async () => {
    const mirror = join(work, 'mirror');
    const ledger = join(work, 'ledger-dir.jsonl');
    const u = await runAirgapJson<{ artifacts: { action: string }[] }>(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', pub(), '--config', configFile, '--ledger', ledger]);
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.json.artifacts.map((a) => a.action)).toEqual(['pushed', 'pushed', 'pushed', 'pushed']);
    for (const name of ['multi', 'one', 'two']) {
      const read = await inspectRaw(`oci:${join(mirror, 'oci')}:${src.host}/team/${name}:1`);
      expect(read.digest).toBe((await inspectRaw(`docker://${src.host}/team/${name}:1`)).digest);
    }
    await skopeoCopy(`oci:${join(mirror, 'oci')}:${src.host}/team/multi-arm:1`, `oci:${join(work, 'from-dir')}:arm`, ['--all']);
    const again = await runAirgapJson<{ artifacts: { action: string }[] }>(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', pub(), '--config', configFile, '--ledger', ledger]);
    expect(again.json.artifacts.map((a) => a.action)).toEqual(['present', 'present', 'present', 'present']);
  });

  it('a tampered bundle part is refused with exit 3 and nothing reaches the registry', async () => {
    const copy = join(work, 'tampered');
    await cp(bundle, copy, { recursive: true });
    const part = join(copy, (await readdir(copy)).filter((f) => f.startsWith('part-')).sort().at(-1)!);
    const bytes = await readFile(part);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await writeFile(part, bytes);
    const before = dstProxy.requests.length;
    const u = await runAirgap(['unpack', copy, '--to', 'reg', '--pub', pub(), '--config', configFile, '--ledger', join(work, 'ledger2.jsonl')]);
    expect(u.exitCode).toBe(3);
    expect(u.stderr).toContain('part-');
    expect(dstProxy.requests.length).toBe(before);
  });

  it('a registry serving wrong bytes for a layer fails the pack with exit 3 naming the image and digest, leaving no bundle', async () => {
    const two = JSON.parse((await inspectRaw(`docker://${src.host}/team/two:1`)).raw) as { layers: { digest: string }[] };
    const layer = two.layers.at(-1)!.digest;
    srcProxy.tamper.add(layer);
    const manifest = join(work, 'tamper.yaml');
    await writeFile(manifest, `apiVersion: airgap/v1\nkind: Bundle\nname: tamper\nimages:\n  - ref: ${srcProxy.host}/team/two:1\n`);
    const out = join(work, 'out-tamper');
    const p = await runAirgap(['pack', manifest, '--out', out, '--key', join(keys, 'outside.key'), '--config', configFile, '--cache', join(work, 'cache-tamper')]);
    srcProxy.tamper.clear();
    expect(p.exitCode).toBe(3);
    expect(p.stderr).toContain(`image ${srcProxy.host}/team/two:1`);
    expect(p.stderr).toContain(layer);
    const left = await readdir(out).catch(() => []);
    // Neither a bundle nor the writer's temporary `.tamper-…partial-…` (it writes parts while the layers download).
    expect(left.filter((f) => f.includes('tamper'))).toEqual([]);
  });

  it('pack --dry-run resolves from manifests only: no blob is downloaded', async () => {
    const manifest = join(work, 'dry.yaml');
    await writeFile(manifest, `apiVersion: airgap/v1\nkind: Bundle\nname: dry\nimages:\n  - ref: ${srcProxy.host}/team/multi:1\n    platforms: [linux/amd64]\n`);
    const mark = srcProxy.requests.length;
    const p = await runAirgapJson<{ artifacts: number; list: { name: string; platform: string }[] }>(['pack', manifest, '--out', join(work, 'out-dry'), '--dry-run', '--config', configFile, '--cache', join(work, 'cache-dry')]);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(p.json.list.map((a) => `${a.name} ${a.platform}`)).toEqual([`${srcProxy.host}/team/multi linux/amd64`]);
    const seen = srcProxy.requests.slice(mark);
    expect(seen.some((r) => r.path.includes('/manifests/'))).toBe(true);
    expect(seen.filter((r) => r.path.includes('/blobs/'))).toEqual([]);
  });

  it('bad image entries are refused with exit 2 naming them', async () => {
    const typo = join(work, 'typo.yaml');
    await writeFile(typo, `apiVersion: airgap/v1\nkind: Bundle\nname: typo\nimages:\n  - ref: ${src.host}/team/one:1\n    platform: [linux/amd64]\n`);
    const t = await runAirgap(['pack', typo, '--out', join(work, 'out-typo'), '--dry-run', '--config', configFile]);
    expect(t.exitCode).toBe(2);
    expect(t.stderr).toContain('platform');
    const badRef = join(work, 'badref.yaml');
    await writeFile(badRef, `apiVersion: airgap/v1\nkind: Bundle\nname: badref\nimages:\n  - ref: "Team/One:1"\n`);
    const b = await runAirgap(['pack', badRef, '--out', join(work, 'out-badref'), '--dry-run', '--config', configFile]);
    expect(b.exitCode).toBe(2);
    expect(b.stderr).toContain('Team/One:1');
  });
});
