/**
 * Helm chart fixtures made the way `helm package` lays them out: a gzipped tar of `<name>/…` with
 * Chart.yaml first (docs/reference/repo-formats.md §2). Debian bookworm has no `helm` package, so GNU tar + gzip make
 * the archives; subcharts are carried both as `charts/<sub>-<version>.tgz` and as a `charts/<sub>/` folder.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

export const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Write files (path → text) under `dir`. */
export async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

/** `tar -czf out -C parent name` (GNU tar + gzip), the shape of a `helm package` archive. */
export async function packageChart(parent: string, name: string, out: string): Promise<Buffer> {
  await mkdir(dirname(out), { recursive: true });
  await execa('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-czf', out, '-C', parent, name]);
  return readFile(out);
}

export interface FixtureCharts {
  /** chart file name → bytes */
  archives: Record<string, Buffer>;
  /** Every image the `web` chart declares, with where. */
  webImages: { ref: string; from: string }[];
}

/**
 * `web` 1.2.0 (appVersion 2.0.1) with a subchart archive `charts/cache-0.3.0.tgz` and a subchart folder
 * `charts/metrics/`; images in values.yaml (with and without a tag, with a registry field, a digest) and in
 * the artifacthub.io/images annotation. `web` 1.1.0 and 1.3.0-rc.1 for version selection; `tools` 0.1.0
 * without images. `exporterDigest` pins the exporter image (a real digest where images are really pulled).
 */
export async function makeCharts(work: string, registry: string, opts: { exporterDigest?: string } = {}): Promise<FixtureCharts> {
  const src = join(work, 'chart-src');
  const out = join(work, 'chart-out');
  const digest = opts.exporterDigest ?? 'sha256:' + 'ab'.repeat(32);
  await writeTree(join(src, 'cache'), {
    'Chart.yaml': 'apiVersion: v2\nname: cache\nversion: 0.3.0\nappVersion: "7.2"\n',
    'values.yaml': `image:\n  registry: ${registry}\n  repository: lib/cache\n  tag: "7.2"\n`,
    'templates/deploy.yaml': 'kind: Deployment\n',
  });
  await mkdir(join(src, 'web', 'charts'), { recursive: true });
  await packageChart(src, 'cache', join(src, 'web', 'charts', 'cache-0.3.0.tgz'));
  const webFiles = (version: string) => ({
    'Chart.yaml': [
      'apiVersion: v2', 'name: web', `version: ${version}`, 'appVersion: "2.0.1"', 'description: a web app',
      'dependencies:', '  - name: cache', '    version: 0.3.0', '    repository: file://../cache', '  - name: metrics', '    version: 0.1.0',
      'annotations:', '  artifacthub.io/images: |', '    - name: sidecar', `      image: ${registry}/lib/sidecar:1.0`, '',
    ].join('\n'),
    'values.yaml': [
      'image:', `  repository: ${registry}/lib/web`, '  tag: ""', '  pullPolicy: IfNotPresent',
      'jobs:', `  migrateImage: ${registry}/lib/migrate:3`, '  templated:', '    image: "{{ .Values.global.registry }}/x:1"',
      'service:', '  port: 80', '  name: web', '',
    ].join('\n'),
    'charts/metrics/Chart.yaml': 'apiVersion: v2\nname: metrics\nversion: 0.1.0\n',
    'charts/metrics/values.yaml': `exporter:\n  image:\n    repository: ${registry}/lib/exporter\n    tag: "0.9"\n    digest: ${digest}\n`,
    'templates/deploy.yaml': 'kind: Deployment\n',
  });
  await writeTree(join(src, 'web'), webFiles('1.2.0'));
  const archives: Record<string, Buffer> = {};
  archives['web-1.2.0.tgz'] = await packageChart(src, 'web', join(out, 'web-1.2.0.tgz'));
  for (const v of ['1.1.0', '1.3.0-rc.1']) {
    await writeTree(join(src, `web-${v}`, 'web'), { 'Chart.yaml': `apiVersion: v2\nname: web\nversion: ${v}\n`, 'values.yaml': 'replicas: 1\n' });
    archives[`web-${v}.tgz`] = await packageChart(join(src, `web-${v}`), 'web', join(out, `web-${v}.tgz`));
  }
  await writeTree(join(src, 'tools'), { 'Chart.yaml': 'apiVersion: v2\nname: tools\nversion: 0.1.0\n', 'values.yaml': 'enabled: true\n' });
  archives['tools-0.1.0.tgz'] = await packageChart(src, 'tools', join(out, 'tools-0.1.0.tgz'));
  return {
    archives,
    webImages: [
      { ref: `${registry}/lib/sidecar:1.0`, from: 'web/Chart.yaml: annotations.artifacthub.io/images' },
      { ref: `${registry}/lib/web:2.0.1`, from: 'web/values.yaml: image' },
      { ref: `${registry}/lib/migrate:3`, from: 'web/values.yaml: jobs.migrateImage' },
      { ref: `${registry}/lib/exporter:0.9@${digest}`, from: 'web/charts/metrics/values.yaml: exporter.image' },
      { ref: `${registry}/lib/cache:7.2`, from: 'web/charts/cache-0.3.0.tgz/values.yaml: image' },
    ],
  };
}

/** An index.yaml entry the way `helm repo index` writes it. */
export function indexEntry(name: string, version: string, url: string, bytes: Buffer, extra: Record<string, unknown> = {}) {
  return { apiVersion: 'v2', name, version, urls: [url], digest: sha256Hex(bytes), created: '2026-01-02T03:04:05Z', ...extra };
}
