/**
 * One upstream of every kind, made by the real tools through the fixture builders of each ecosystem's
 * tests: an image (umoci, pushed with skopeo to docker-registry, with an OCI licences annotation), a
 * chart (GNU tar + gzip, Artifact Hub licence annotation, a dependency), debs (dpkg-deb, a gpg-signed
 * archive), rpms (rpmbuild + createrepo_c), wheels (pip wheel, License: in METADATA), npm packages
 * (npm publish to verdaccio) and a file — all on 127.0.0.1.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify as stringifyYaml } from 'yaml';
import { type StaticServer, startStaticServer } from '../harness/index.js';
import { type GpgKey, buildUpstream, makeGpgKey, nativeArch, stopGpgAgent } from '../apt/upstream.js';
import { indexEntry, packageChart, writeTree } from '../helm/fixtures.js';
import { type Registry, skopeoCopy, startRegistry } from '../oci/registry-fixtures.js';
import { buildWheels } from '../pypi/fixtures.js';
import { type IndexServer, startIndexServer } from '../pypi/index-server.js';
import { buildRpms, createRepo } from '../yum/fixtures.js';
import { publishFixtures } from '../npm/fixtures.js';
import { type Verdaccio, startVerdaccio } from '../npm/verdaccio.js';

export interface SevenKinds {
  manifest: (name: string, extra?: string) => string;
  registry: Registry;
  site: StaticServer;
  pypi: IndexServer;
  npm: Verdaccio;
  aptKey: GpgKey;
  fileBytes: Buffer;
  stop(): Promise<void>;
}

export async function sevenKinds(work: string): Promise<SevenKinds> {
  const site = join(work, 'site');
  await mkdir(site, { recursive: true });
  const arch = await nativeArch();

  // The kinds share nothing but `site` (each writes its own folder under it and under `work`), so they are
  // built side by side: most steps wait on one real tool or server at a time (umoci, gpg, rpmbuild, npm).
  const started: { registry?: Registry; npm?: Verdaccio; pypi?: IndexServer } = {};
  const settled = await Promise.allSettled([
    // image: a busybox layer, the manifest annotated with its licence
    (async () => {
      const layout = join(work, 'layout');
      await execa('umoci', ['init', '--layout', layout]);
      await execa('umoci', ['new', '--image', `${layout}:img`]);
      await execa('umoci', ['insert', '--image', `${layout}:img`, '/usr/bin/busybox', '/bin/busybox']);
      await execa('umoci', ['config', '--image', `${layout}:img`, '--os', 'linux', '--architecture', 'amd64', '--manifest.annotation', 'org.opencontainers.image.licenses=GPL-2.0-only']);
      started.registry = await startRegistry(join(work, 'registry'));
      await skopeoCopy(`oci:${layout}:img`, `docker://${started.registry.host}/tools/busybox:1.36`);
    })(),
    // chart: `web` depends on `cache`, both in the repository
    (async () => {
      const src = join(work, 'chart-src');
      await writeTree(join(src, 'cache'), { 'Chart.yaml': 'apiVersion: v2\nname: cache\nversion: 0.3.0\n', 'values.yaml': 'a: 1\n' });
      await writeTree(join(src, 'web'), {
        'Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.2.0\nhome: https://charts.example.test/web\ndependencies:\n  - name: cache\n    version: 0.3.0\n    repository: file://../cache\nannotations:\n  artifacthub.io/license: Apache-2.0\n',
        'values.yaml': 'replicas: 1\n',
      });
      const web = await packageChart(src, 'web', join(site, 'charts', 'web-1.2.0.tgz'));
      const cache = await packageChart(src, 'cache', join(site, 'charts', 'cache-0.3.0.tgz'));
      await writeFile(join(site, 'charts', 'index.yaml'), stringifyYaml({
        apiVersion: 'v1',
        entries: {
          web: [indexEntry('web', '1.2.0', 'web-1.2.0.tgz', web, { home: 'https://charts.example.test/web', dependencies: [{ name: 'cache', version: '0.3.0' }], annotations: { 'artifacthub.io/license': 'Apache-2.0' } })],
          cache: [indexEntry('cache', '0.3.0', 'cache-0.3.0.tgz', cache)],
        },
      }));
    })(),
    // apt: webapp → libweb (signed archive)
    (async () => {
      const key = await makeGpgKey(work, 'apt-upstream');
      await buildUpstream(join(site, 'debian'), key, arch, [
        { name: 'webapp', version: '1.0-1', arch, depends: 'libweb (>= 2.0)' },
        { name: 'libweb', version: '2.1-1', arch },
      ]);
      await stopGpgAgent(key);
      return key;
    })(),
    // yum: tool (License: MIT, from the fixture spec) needs libtool
    (async () => {
      await buildRpms(work, [
        { name: 'tool', version: '1.0', arch: 'noarch', requires: ['libtool'], files: { '/usr/share/tool/t.txt': 'tool' } },
        { name: 'libtool', version: '2.0', arch: 'noarch', epoch: 1, files: { '/usr/share/libtool/l.txt': 'libtool' } },
      ], join(site, 'yum'));
      await createRepo(join(site, 'yum'));
    })(),
    // pypi: agap-app → agap-lib, both with a License field
    (async () => {
      const wheels = await buildWheels(join(work, 'py'), [
        { name: 'agap-app', version: '1.0', requires: ['agap-lib>=1.0'], license: 'BSD-3-Clause' },
        { name: 'agap-lib', version: '1.0', license: 'MIT' },
      ]);
      started.pypi = await startIndexServer(wheels);
    })(),
    // npm: fx-core → fx-util, and a scoped package (publishFixtures writes license: MIT)
    (async () => {
      started.npm = await startVerdaccio();
      await publishFixtures(started.npm, join(work, 'npm'), [
        { name: 'fx-util', version: '1.2.0' },
        { name: 'fx-core', version: '1.0.0', dependencies: { 'fx-util': '^1.0.0' } },
        { name: '@fx/scoped', version: '1.0.0' },
      ]);
    })(),
  ]);
  // One kind failing stops the servers the others started (the caller never gets a `stop` to call).
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled([started.registry?.stop(), started.pypi?.close(), started.npm?.close()]);
    throw failed.reason;
  }
  const aptKey = (settled[2] as PromiseFulfilledResult<GpgKey>).value;
  const { registry, pypi, npm } = started as Required<typeof started>;

  const fileBytes = Buffer.from('#!/bin/sh\necho velero\n');
  await writeFile(join(site, 'velero.sh'), fileBytes);
  const server = await startStaticServer(site);

  const manifest = (name: string, extra = '') => `apiVersion: airgap/v1
kind: Bundle
name: ${name}
images:
  - ref: ${registry.host}/tools/busybox:1.36
charts:
  - repo: ${server.url}charts
    name: web
  - repo: ${server.url}charts
    name: cache
apt:
  - url: ${server.url}debian/archive
    suite: stable
    components: [main]
    architectures: [${arch}]
    keyring: ${aptKey.keyring}
    packages: [webapp]
yum:
  - baseurl: ${server.url}yum/
    packages: [tool]
pypi:
  - index: ${pypi.indexUrl}
    requirements: ["agap-app==1.0"]
    python: "3.11"
    platforms: [manylinux_2_17_x86_64]
npm:
  - registry: ${npm.url}
    packages: ["fx-core@1.0.0", "@fx/scoped@1.0.0"]
files:
  - url: ${server.url}velero.sh
    path: tools/
${extra}`;
  return {
    manifest, registry, site: server, pypi, npm, aptKey, fileBytes,
    async stop() {
      await Promise.allSettled([registry.stop(), server.close(), pypi.close(), npm.close()]);
    },
  };
}
