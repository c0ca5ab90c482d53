/**
 * Issue 10 "must show", the OCI half, through the real CLI: the images a chart declares (values.yaml,
 * annotation, subcharts) are pulled from a real `docker-registry` into the bundle and pushed to the image
 * target (a second docker-registry), checked with skopeo; an OCI chart (Helm config + chart layer, laid out
 * as an OCI layout and pushed with skopeo) is carried byte for byte and pushed to the docker endpoint,
 * with `+` in its version written `_` in the tag.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, startStaticServer, tempDir, type StaticServer } from '../harness/index.js';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { type Registry, buildFixtureLayout, inspectRaw, skopeoCopy, startRegistry } from '../oci/registry-fixtures.js';
import { type FixtureCharts, indexEntry, makeCharts, sha256Hex } from './fixtures.js';

let work: string;
let keys: string;
let src: Registry;
let dst: Registry;
let upstream: StaticServer;
let nexus: NexusDouble;
let fx: FixtureCharts;
let hostSeg: string;

const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';
const HELM_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

/** An OCI layout holding one Helm chart artifact (docs/reference/repo-formats.md §2: config + chart layer), tagged `tag`. */
async function chartLayout(dir: string, tgz: Buffer, tag: string): Promise<string> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (bytes: Buffer) => {
    const hex = sha256Hex(bytes);
    await writeFile(join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const config = Buffer.from(JSON.stringify({ apiVersion: 'v2', name: 'web', version: '1.2.0', appVersion: '2.0.1' }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: HELM_CONFIG, ...(await put(config)) },
    layers: [{ mediaType: HELM_LAYER, ...(await put(tgz)) }],
  }));
  const m = await put(manifest);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return dir;
}

beforeAll(async () => {
  work = await tempDir('airgap-helm-oci-');
  const layout = await buildFixtureLayout(join(work, 'images'));
  src = await startRegistry(join(work, 'src'));
  dst = await startRegistry(join(work, 'dst'));
  hostSeg = `127.0.0.1_${src.host.split(':')[1]}`;
  for (const ref of ['lib/web:2.0.1', 'lib/sidecar:1.0', 'lib/migrate:3', 'lib/cache:7.2', 'lib/exporter:0.9']) {
    await skopeoCopy(`oci:${layout}:app`, `docker://${src.host}/${ref}`);
  }
  const exporterDigest = (await inspectRaw(`docker://${src.host}/lib/exporter:0.9`)).digest;
  fx = await makeCharts(work, src.host, { exporterDigest });

  const site = join(work, 'site');
  await mkdir(site, { recursive: true });
  await writeFile(join(site, 'web-1.2.0.tgz'), fx.archives['web-1.2.0.tgz']);
  upstream = await startStaticServer(site);
  await writeFile(join(site, 'index.yaml'), JSON.stringify({ apiVersion: 'v1', entries: { web: [indexEntry('web', '1.2.0', 'web-1.2.0.tgz', fx.archives['web-1.2.0.tgz'])] } }));

  // `1.2.0+build.1` is tagged `1.2.0_build.1` in OCI (docs/reference/repo-formats.md §2 pitfall 2)
  await skopeoCopy(`oci:${await chartLayout(join(work, 'chart-layout'), fx.archives['web-1.2.0.tgz'], 'c')}:c`, `docker://${src.host}/charts/web:1.2.0_build.1`);

  nexus = await startNexusDouble();
  keys = join(work, 'keys');
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
});

afterAll(async () => {
  await upstream?.close();
  await nexus?.close();
  await src?.stop();
  await dst?.stop();
});

async function packBundle(name: string, charts: string[]): Promise<string> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, ['apiVersion: airgap/v1', 'kind: Bundle', `name: ${name}`, 'charts:', ...charts, ''].join('\n'));
  const r = await runAirgapJson<{ bundle: string }>(['pack', file, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, `cache-${name}`)], { cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.json.bundle;
}

async function unpackToRegistries(bundle: string) {
  const cfg = join(work, 'targets.yaml');
  await writeFile(cfg, [`trust: [${join(keys, 'outside.pub')}]`, 'targets:', '  site:', '    type: registries',
    '    usernameEnv: NEXUS_USER', '    passwordEnv: NEXUS_PASSWORD',
    `    endpoints: { docker: "${dst.url}", helm: "${nexus.url}repository/helm-hosted/" }`, ''].join('\n'));
  return runAirgapJson<{ artifacts: { kind: string; name: string; version: string; action: string }[] }>(
    ['unpack', bundle, '--to', 'site', '--config', cfg, '--ledger', join(work, 'ledger.jsonl')],
    { cwd: work, env: { NEXUS_USER: DEFAULT_USER.username, NEXUS_PASSWORD: DEFAULT_USER.password } },
  );
}

describe('chart images and OCI charts', () => {
  it('pack --dry-run lists each image found and where it was found, and the image artifacts it resolves to', async () => {
    const file = join(work, 'dry.yaml');
    await writeFile(file, ['apiVersion: airgap/v1', 'kind: Bundle', 'name: dry', 'charts:',
      `  - { repo: "${upstream.url}", name: web, version: "1.2.0", images: true, excludeImages: ["${src.host}/lib/migrate"], extraImages: ["${src.host}/lib/web:2.0.1", "${src.host}/lib/cache:7.2"] }`, ''].join('\n'));
    const r = await runAirgap(['pack', file, '--dry-run', '--out', join(work, 'out'), '--cache', join(work, 'cache-dry')], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const img of fx.webImages) {
      if (img.ref.includes('/lib/migrate')) expect(r.stderr).toContain(`chart web@1.2.0: image ${img.ref} left out (excludeImages)`);
      else expect(r.stderr).toContain(`chart web@1.2.0: image ${img.ref} (from ${img.from})`);
    }
    expect(r.stderr).toContain('jobs.templated.image: image {{ .Values.global.registry }}/x:1 is a template');
    const json = await runAirgapJson<{ list: { kind: string; name: string }[] }>(['pack', file, '--dry-run', '--out', join(work, 'out'), '--cache', join(work, 'cache-dry')], { cwd: work });
    expect(json.json.list.filter((a) => a.kind === 'image').map((a) => a.name).sort()).toEqual(
      fx.webImages.filter((i) => !i.ref.includes('/lib/migrate')).map((i) => i.ref.split('@')[0].replace(/:[^:/]+$/, '')).sort(),
    );
  });

  it('images: true carries every image the chart declares and unpack pushes them, with the source digests, to the image target', async () => {
    const bundle = await packBundle('chart-images', [`  - { repo: "${upstream.url}", name: web, version: "1.2.0", images: true }`]);
    const u = await unpackToRegistries(bundle);
    expect(u.exitCode, u.stderr).toBe(0);
    const images = u.json.artifacts.filter((a) => a.kind === 'image');
    expect(images.map((a) => a.action)).toEqual(Array(fx.webImages.length).fill('pushed'));
    for (const img of fx.webImages) {
      const repoTag = img.ref.slice(src.host.length + 1).split('@')[0];
      const source = await inspectRaw(`docker://${src.host}/${repoTag}`);
      const target = await inspectRaw(`docker://${dst.host}/${hostSeg}/${repoTag}`);
      expect(target.digest, img.ref).toBe(source.digest);
    }
    expect(u.json.artifacts.find((a) => a.kind === 'chart')).toMatchObject({ name: 'web', version: '1.2.0', action: 'pushed' });
    expect((await nexus.storage.read('helm-hosted', 'web-1.2.0.tgz'))!.equals(fx.archives['web-1.2.0.tgz'])).toBe(true);
  });

  it('an oci:// chart is carried byte for byte and pushed to the docker endpoint; images: true reads its chart layer', async () => {
    const bundle = await packBundle('oci-chart', [`  - { ref: "oci://${src.host}/charts/web:1.2.0+build.1", images: true, excludeImages: ["${src.host}/lib/migrate"] }`]);
    const u = await unpackToRegistries(bundle);
    expect(u.exitCode, u.stderr).toBe(0);
    const source = await inspectRaw(`docker://${src.host}/charts/web:1.2.0_build.1`);
    const target = await inspectRaw(`docker://${dst.host}/${hostSeg}/charts/web:1.2.0_build.1`);
    expect(target.digest).toBe(source.digest);
    const manifest = JSON.parse(target.raw) as { config: { mediaType: string }; layers: { mediaType: string; digest: string }[] };
    expect(manifest.config.mediaType).toBe(HELM_CONFIG);
    expect(manifest.layers[0]).toMatchObject({ mediaType: HELM_LAYER, digest: `sha256:${sha256Hex(fx.archives['web-1.2.0.tgz'])}` });
    const layer = await fetch(`${dst.url}v2/${hostSeg}/charts/web/blobs/${manifest.layers[0].digest}`);
    expect(Buffer.from(await layer.arrayBuffer()).equals(fx.archives['web-1.2.0.tgz'])).toBe(true);
    // the chart's images came along, minus the excluded one
    const pushed = u.json.artifacts.filter((a) => a.kind === 'image').map((a) => a.name);
    for (const img of fx.webImages) {
      const repo = img.ref.split('@')[0].replace(/:[^:/]+$/, '');
      if (repo.endsWith('/lib/migrate')) expect(pushed.some((n) => n.includes('lib/migrate'))).toBe(false);
      else expect(pushed.some((n) => n.includes(repo.slice(src.host.length + 1))), img.ref).toBe(true);
    }
  });

  it('an oci:// reference that is not a Helm chart, or a chart image the registry does not have, fails the pack naming the chart', async () => {
    const file = join(work, 'bad.yaml');
    await writeFile(file, ['apiVersion: airgap/v1', 'kind: Bundle', 'name: bad', 'charts:', `  - { ref: "oci://${src.host}/lib/web:2.0.1" }`, ''].join('\n'));
    const r = await runAirgap(['pack', file, '--dry-run', '--out', join(work, 'out'), '--cache', join(work, 'cache-bad')], { cwd: work });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`chart web@2.0.1 (oci://${src.host}/lib/web:2.0.1): not a Helm chart (no application/vnd.cncf.helm.config.v1+json config or chart layer in its manifest)`);

    await writeFile(file, ['apiVersion: airgap/v1', 'kind: Bundle', 'name: bad', 'charts:',
      `  - { repo: "${upstream.url}", name: web, version: "1.2.0", extraImages: ["${src.host}/lib/missing:1"] }`, ''].join('\n'));
    const m = await runAirgap(['pack', file, '--dry-run', '--out', join(work, 'out'), '--cache', join(work, 'cache-bad')], { cwd: work });
    expect(m.exitCode).toBe(2);
    expect(m.stderr).toContain(`chart web@1.2.0: image ${src.host}/lib/missing:1 (from extraImages): `);
  });
});
