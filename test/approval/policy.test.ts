/**
 * Issue 17 "must show": each rule of the manifest's `policy:` refuses a violating manifest by name (exit 2)
 * before anything is downloaded. Registry and digest rules cause no upstream request at all (counted at
 * the servers); licence and size rules are judged on the resolved metadata, so the registry sees manifest
 * requests but no blob download (counted at a recording proxy in front of a real docker-registry).
 * `pack --dry-run` lists every refusal.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, startStaticServer, tempDir, type StaticServer } from '../harness/index.js';
import { type RecordingProxy, type Registry, skopeoCopy, startRecordingProxy, startRegistry } from '../oci/registry-fixtures.js';

let work: string;
let keys: string;
let site: StaticServer;
let registry: Registry;
let proxy: RecordingProxy;

beforeAll(async () => {
  work = await tempDir('airgap-policy-');
  keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  await mkdir(join(work, 'site'), { recursive: true });
  await writeFile(join(work, 'site', 'tool.sh'), 'echo tool\n');
  site = await startStaticServer(join(work, 'site'));
  registry = await startRegistry(join(work, 'registry'));
  const layout = join(work, 'layout');
  await execa('umoci', ['init', '--layout', layout]);
  await execa('umoci', ['new', '--image', `${layout}:img`]);
  await execa('umoci', ['insert', '--image', `${layout}:img`, '/usr/bin/busybox', '/bin/busybox']);
  await execa('umoci', ['config', '--image', `${layout}:img`, '--os', 'linux', '--architecture', 'amd64', '--manifest.annotation', 'org.opencontainers.image.licenses=AGPL-3.0-only OR MIT']);
  await skopeoCopy(`oci:${layout}:img`, `docker://${registry.host}/team/app:1`);
  proxy = await startRecordingProxy(registry.host);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([site?.close(), proxy?.stop(), registry?.stop()]);
});

async function manifest(name: string, body: string): Promise<string> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, `apiVersion: airgap/v1\nkind: Bundle\nname: ${name}\n${body}`);
  return file;
}

const pack = (file: string, extra: string[] = []) =>
  runAirgap(['pack', file, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, `cache-${Math.random().toString(36).slice(2)}`), ...extra], { cwd: work });

/** Images on the static server's address: any registry request would show up in its log. */
const siteImage = () => `${site.url.replace(/^http:\/\//, '').replace(/\/$/, '')}/team/app:1`;
const files = () => `files:\n  - url: ${site.url}tool.sh\n`;

describe('policy: rules judged from the entries, before any request', () => {
  for (const [rule, policy, expected] of [
    ['images.allowRegistries', 'images:\n    allowRegistries: [registry.corp.example]', 'policy.images.allowRegistries: images[0]'],
    ['images.denyRegistries', 'images:\n    denyRegistries: [127.0.0.1]', 'policy.images.denyRegistries: images[0]'],
    ['images.requireDigest', 'images:\n    requireDigest: true', 'policy.images.requireDigest: images[0]'],
  ] as const) {
    it(`${rule} refuses the image by name (exit 2) and nothing is requested upstream`, async () => {
      const before = site.requests.length;
      const r = await pack(await manifest(`p-${rule.replace(/\W/g, '-').toLowerCase()}`, `images:\n  - ref: ${siteImage()}\n${files()}policy:\n  ${policy}\n`));
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain(expected);
      expect(r.stderr).toContain(siteImage());
      expect(site.requests.slice(before)).toEqual([]);
      expect(await readdir(join(work, 'out')).catch(() => [])).not.toContainEqual(expect.stringMatching(/^p-/));
    });
  }

  it('allows an image whose registry is allowed (the control), by host or by host/path prefix', async () => {
    const host = registry.host;
    const r = await pack(await manifest('p-allowed', `images:\n  - ref: ${host}/team/app:1\npolicy:\n  images:\n    allowRegistries: [${host}/team]\n    denyRegistries: [${host}/other]\n`), ['--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${host}/team/app:1`);
  });
});

describe('policy: rules judged on resolved metadata, before any blob is downloaded', () => {
  const blobGets = (from: number) => proxy.requests.slice(from).filter((q) => q.method === 'GET' && q.path.includes('/blobs/'));

  it('denyLicenses refuses the image whose stated licence names a denied SPDX id, with no blob download', async () => {
    const from = proxy.requests.length;
    const r = await pack(await manifest('p-license', `images:\n  - ref: ${proxy.host}/team/app:1\npolicy:\n  denyLicenses: [AGPL-3.0-only]\n`));
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`policy.denyLicenses: image ${proxy.host}/team/app:1 is licensed AGPL-3.0-only OR MIT, and AGPL-3.0-only is denied`);
    expect(proxy.requests.slice(from).some((q) => q.path.includes('/manifests/'))).toBe(true);
    expect(blobGets(from)).toEqual([]);
  });

  it('maxBundleSize refuses a bundle that would be larger, naming the size and the largest artifact, with no blob download', async () => {
    const from = proxy.requests.length;
    const r = await pack(await manifest('p-size', `images:\n  - ref: ${proxy.host}/team/app:1\npolicy:\n  maxBundleSize: 1KiB\n`));
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/policy\.maxBundleSize: the bundle would hold [\d.]+ [KM]iB \(\d+ bytes\), more than 1\.00 KiB; largest: image /);
    expect(blobGets(from)).toEqual([]);
  });

  it('pack --dry-run lists every refusal of every rule, packs nothing and exits 2', async () => {
    const r = await pack(await manifest('p-dry', `images:\n  - ref: ${siteImage()}\n  - ref: ${proxy.host}/team/app:1\n${files()}policy:\n  images:\n    denyRegistries: [${siteImage().split('/')[0]}]\n    requireDigest: true\n  denyLicenses: [AGPL-3.0-only]\n  maxBundleSize: 5\n`), ['--dry-run']);
    expect(r.exitCode, r.stderr).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.includes('policy.'));
    expect(lines.map((l) => /policy\.[\w.]+/.exec(l)![0])).toEqual([
      'policy.images.denyRegistries', 'policy.images.requireDigest', 'policy.images.requireDigest', 'policy.maxBundleSize',
    ]);
    expect(r.stdout).toContain('dry run: nothing downloaded or written');
  });

  it('a bad policy is a manifest error naming the key (exit 2)', async () => {
    const r = await pack(await manifest('p-bad', `${files()}policy:\n  maxBundleSize: lots\n  denyLicense: [MIT]\n`));
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('policy');
    expect(r.stderr).toContain('denyLicense');
  });
});
