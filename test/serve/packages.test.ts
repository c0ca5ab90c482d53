/**
 * `airgap serve` + `airgap client-config --mirror` with the real package clients (issue 13): one bundle
 * of apt, yum, PyPI and Helm content packed from loopback upstreams (the fixture builders of test/apt,
 * test/yum, test/pypi, test/helm), unpacked into a signed dir: mirror, the upstreams stopped; then
 * apt-get, dnf and pip read only the files client-config wrote, and the helm index's chart URLs
 * download through serve with the index's digests.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, startStaticServer, tempDir, type StaticServer } from '../harness/index.js';
import { type GpgKey as AptKey, type Upstream, buildUpstream, makeGpgKey as makeAptKey, nativeArch, stopGpgAgent } from '../apt/upstream.js';
import { aptGet } from '../apt/apt-get.js';
import { CLOSURE, PACKAGES, buildRpms, createRepo, makeGpgKey as makeYumKey, signRepomd, stopGpgAgents } from '../yum/fixtures.js';
import { EXPECTED_LINUX_311, ROOTS, buildWheels } from '../pypi/fixtures.js';
import { type IndexServer, startIndexServer } from '../pypi/index-server.js';
import { indexEntry, makeCharts } from '../helm/fixtures.js';
import { type ServeProcess, startServe } from './serve-process.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let work: string;
let arch: string;
let aptUp: Upstream;
let aptKeys: AptKey[] = [];
let wheels: string;
let charts: Record<string, Buffer>;
let mirror: string;
let clients: string;
let serve: ServeProcess;
const upstreams: (StaticServer | IndexServer)[] = [];

beforeAll(async () => {
  work = await tempDir('airgap-serve-pkgs-');
  arch = await nativeArch();
  const [aptUpstreamKey, insideKey] = await Promise.all([makeAptKey(work, 'apt-upstream'), makeAptKey(work, 'inside')]);
  aptKeys = [aptUpstreamKey, insideKey];
  aptUp = await buildUpstream(work, aptUpstreamKey, arch);
  const aptServer = await startStaticServer(aptUp.root);

  const yumSite = join(work, 'yum-site', 'el');
  await buildRpms(work, PACKAGES, yumSite);
  await createRepo(yumSite, { compress: 'xz' });
  const yumKey = await makeYumKey(work, 'yum-upstream');
  await signRepomd(yumSite, yumKey);
  const yumServer = await startStaticServer(join(work, 'yum-site'));

  wheels = await buildWheels(work);
  const pypiServer = await startIndexServer(wheels);

  charts = (await makeCharts(work, 'registry.invalid:5000')).archives;
  const helmSite = join(work, 'helm-site');
  await mkdir(join(helmSite, 'stable'), { recursive: true });
  for (const f of ['web-1.2.0.tgz', 'tools-0.1.0.tgz']) await writeFile(join(helmSite, 'stable', f), charts[f]);
  await writeFile(join(helmSite, 'stable', 'index.yaml'), stringifyYaml({
    apiVersion: 'v1', generated: '2026-01-02T03:04:05Z',
    entries: { web: [indexEntry('web', '1.2.0', 'web-1.2.0.tgz', charts['web-1.2.0.tgz'])], tools: [indexEntry('tools', '0.1.0', 'tools-0.1.0.tgz', charts['tools-0.1.0.tgz'])] },
  }));
  const helmServer = await startStaticServer(helmSite);
  upstreams.push(aptServer, yumServer, pypiServer, helmServer);

  const keys = join(work, 'keys');
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  await writeFile(join(work, 'bundle.yaml'), [
    'apiVersion: airgap/v1', 'kind: Bundle', 'name: serve-pkgs',
    'apt:', `  - { url: "${aptServer.url}", suite: stable, components: [main], architectures: [${arch}], keyring: "${aptUpstreamKey.keyring}", packages: [webapp] }`,
    'yum:', `  - { baseurl: "${yumServer.url}el/", name: demo, gpgkey: "${yumKey.publicKey}", packages: [alpha, zeta] }`,
    'pypi:', `  - { index: "${pypiServer.indexUrl}", requirements: ${JSON.stringify(ROOTS)}, python: "3.11", platforms: [manylinux_2_17_x86_64] }`,
    'charts:', `  - { repo: "${helmServer.url}stable", name: web, version: "1.2.0" }`, `  - { repo: "${helmServer.url}stable", name: tools, version: "0.1.0" }`,
    '',
  ].join('\n'));
  const p = await runAirgapJson<{ bundle: string }>(['pack', join(work, 'bundle.yaml'), '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });
  expect(p.exitCode, p.stderr).toBe(0);
  for (const s of upstreams.splice(0)) await s.close();
  await stopGpgAgents();

  mirror = join(work, 'mirror');
  const config = join(work, 'airgap.yaml');
  await writeFile(config, [`trust: [${join(keys, 'outside.pub')}]`, 'targets:', '  mirror:', '    type: dir', `    path: ${mirror}`,
    `    apt: { gpgKey: "${insideKey.secretKey}" }`, `    yum: { gpgKey: "${insideKey.secretKey}" }`, ''].join('\n'));
  const u = await runAirgap(['unpack', p.json.bundle, '--to', 'mirror', '--config', config, '--ledger', join(work, 'ledger.jsonl')], { cwd: work });
  expect(u.exitCode, u.stderr + u.stdout).toBe(0);

  serve = await startServe(mirror);
  clients = join(work, 'clients');
  const c = await runAirgapJson<{ files: { path: string }[] }>(['client-config', '--mirror', mirror, '--server', serve.url, '--out', clients]);
  expect(c.exitCode, c.stderr).toBe(0);
  expect(c.json.files.map((f) => f.path).sort()).toEqual(['README.md', 'apt/airgap-archive-keyring.gpg', 'apt/airgap.sources', 'helm/README.md', 'pip/pip.conf', 'yum/airgap.repo']);
}, 600_000);

afterAll(async () => {
  await serve?.stop();
  for (const s of upstreams) await s.close();
  for (const k of aptKeys) await stopGpgAgent(k);
  await stopGpgAgents();
});

describe('package clients through airgap serve, configured by airgap client-config', () => {
  it('apt-get update + install --download-only via the generated deb822 .sources (Signed-By the mirror key)', async () => {
    const sources = await readFile(join(clients, 'apt', 'airgap.sources'), 'utf8');
    expect(sources).toContain(`URIs: ${serve.url.replace(/\/$/, '')}/apt`);
    expect(sources).toMatch(/^Signed-By: \/usr\/share\/keyrings\/airgap-archive-keyring\.gpg$/m);
    // The node installs the keyring where Signed-By names it; here that place is inside the test's root.
    const client = join(work, 'apt-client');
    await mkdir(client, { recursive: true });
    const list = join(client, 'airgap.sources');
    await writeFile(list, sources.replace('/usr/share/keyrings/airgap-archive-keyring.gpg', join(clients, 'apt', 'airgap-archive-keyring.gpg')));
    const update = await aptGet(client, '/dev/null', arch, ['-o', `Dir::Etc::SourceParts=${client}`, 'update']);
    expect(update.exitCode, update.stderr).toBe(0);
    expect(update.stderr).not.toMatch(/^(W|E):/m);
    const install = await aptGet(client, '/dev/null', arch, ['-o', `Dir::Etc::SourceParts=${client}`, 'install', '--download-only', 'webapp']);
    expect(install.exitCode, install.stderr).toBe(0);
    const fetched = (await readdir(join(client, 'cache/archives'))).filter((f) => f.endsWith('.deb'));
    expect(fetched).toContain(`webapp_1.0-1_${arch}.deb`);
    for (const f of fetched) expect(sha256(await readFile(join(client, 'cache/archives', f)))).toBe(sha256(await readFile(aptUp.debs[f.replace(/\.deb$/, '')])));
  });

  it('dnf install --downloadonly via the generated .repo (repo_gpgcheck with the mirror key served beside repomd.xml)', async () => {
    const repo = await readFile(join(clients, 'yum', 'airgap.repo'), 'utf8');
    expect(repo).toContain('[airgap-demo]');
    expect(repo).toContain('repo_gpgcheck=1');
    const dir = join(work, 'dnf');
    const reposd = join(dir, 'repos.d');
    await mkdir(reposd, { recursive: true });
    await mkdir(join(dir, 'root'), { recursive: true });
    await writeFile(join(reposd, 'airgap.repo'), repo);
    await writeFile(join(dir, 'dnf.conf'), ['[main]', `reposdir=${reposd}`, 'install_weak_deps=False', ''].join('\n'));
    const dest = join(dir, 'downloads');
    try {
      const r = await execa('dnf', ['--config', join(dir, 'dnf.conf'), '--installroot', join(dir, 'root'), `--setopt=reposdir=${reposd}`, `--setopt=cachedir=${join(dir, 'cache')}`,
        '--releasever=1', '-y', 'install', '--downloadonly', '--destdir', dest, 'alpha', 'zeta'], { reject: false, stdin: 'ignore', timeout: 120_000, env: { LC_ALL: 'C.UTF-8' } });
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    } finally {
      for (const d of await readdir(join(dir, 'cache')).catch(() => [] as string[])) await execa('gpgconf', ['--homedir', join(dir, 'cache', d, 'pubring'), '--kill', 'all'], { reject: false });
    }
    expect((await readdir(dest)).filter((f) => f.endsWith('.rpm')).sort()).toEqual(CLOSURE);
  });

  it('pip download via the generated pip.conf alone (no --index-url), the carried wheels byte for byte', async () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PIP_')) env[k] = v;
    const dest = join(work, 'pip');
    const pip = await execa('python3', ['-m', 'pip', 'download', '--python-version', '3.11', '--platform', 'manylinux2014_x86_64', '--only-binary', ':all:', '--no-cache-dir', '-d', dest, ...ROOTS], {
      env: { ...env, PIP_CONFIG_FILE: join(clients, 'pip', 'pip.conf'), PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' }, extendEnv: false, reject: false,
    });
    expect(pip.exitCode, String(pip.stderr)).toBe(0);
    const got = (await readdir(dest)).sort();
    expect(got).toEqual(EXPECTED_LINUX_311);
    for (const f of got) expect(sha256(await readFile(join(dest, f)))).toBe(sha256(await readFile(join(wheels, f))));
  });

  it('PyPI: PEP 691 JSON on Accept lists the same files and hashes as the PEP 503 page; other spellings redirect', async () => {
    const html = await (await fetch(`${serve.url}pypi/simple/agap-app/`)).text();
    const res = await fetch(`${serve.url}pypi/simple/agap-app/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
    expect(res.headers.get('content-type')).toBe('application/vnd.pypi.simple.v1+json');
    const doc = (await res.json()) as { name: string; files: { filename: string; url: string; hashes: { sha256: string } }[] };
    expect(doc.name).toBe('agap-app');
    expect(doc.files.length).toBeGreaterThan(0);
    for (const f of doc.files) {
      expect(html).toContain(`#sha256=${f.hashes.sha256}`);
      const bytes = Buffer.from(await (await fetch(new URL(f.url, `${serve.url}pypi/simple/agap-app/`))).arrayBuffer());
      expect(sha256(bytes)).toBe(f.hashes.sha256);
    }
    const root = (await (await fetch(`${serve.url}pypi/simple/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })).json()) as { projects: { name: string }[] };
    expect(root.projects.map((p) => p.name)).toContain('agap-app');
    const moved = await fetch(`${serve.url}pypi/simple/Agap_App`, { redirect: 'manual' });
    expect(moved.status).toBe(301);
    expect(moved.headers.get('location')).toBe('/pypi/simple/agap-app/');
  });

  it('helm: the index served at the URL of the generated README names charts that download with the index digests', async () => {
    const readme = await readFile(join(clients, 'helm', 'README.md'), 'utf8');
    const repoUrl = /helm repo add airgap (\S+)/.exec(readme)![1];
    const index = parseYaml(await (await fetch(`${repoUrl}/index.yaml`)).text()) as { entries: Record<string, { urls: string[]; digest: string }[]> };
    const names: string[] = [];
    for (const [name, versions] of Object.entries(index.entries)) {
      for (const v of versions) {
        const res = await fetch(new URL(v.urls[0], `${repoUrl}/`));
        expect(res.status).toBe(200);
        expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(v.digest);
        names.push(name);
      }
    }
    expect(names.sort()).toEqual(['tools', 'web']);
    expect(index.entries.web[0].digest).toBe(sha256(charts['web-1.2.0.tgz']));
  });

  it('every request was logged, one access line each', () => {
    const lines = serve.lines();
    expect(lines.some((l) => / "GET \/apt\/dists\/stable\/InRelease" 200 \d+ /.test(l))).toBe(true);
    expect(lines.some((l) => / "GET \/yum\/demo\/repodata\/repomd\.xml" 200 /.test(l))).toBe(true);
  });
});
