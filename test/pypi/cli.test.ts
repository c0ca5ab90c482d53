/**
 * Issue 8 "must show", through the real CLI (bin/run.js): pack for Python 3.11 on
 * manylinux_2_17_x86_64 from a hermetic simple index (pip-built wheels, PEP 691 on loopback) →
 * verify → unpack to dir: → served on loopback → the real `pip download` with that mirror as its only
 * index fetches exactly the carried set. A hash mismatch upstream and an unsatisfiable requirement fail
 * the pack with the right exit code, naming the file / both sides of the conflict.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StaticServer, runAirgap, runAirgapJson, startStaticServer, tempDir } from '../harness/index.js';
import { DEFAULT_USER, startNexusDouble } from '../nexus-double/index.js';
import { pypiUploads } from '../nexus-double/formats/pypi.js';
import { EXPECTED_LINUX_311, ROOTS, buildWheels } from './fixtures.js';
import { type IndexServer, startIndexServer } from './index-server.js';

let work: string;
let wheels: string;
let upstream: IndexServer;
let keys: string;
let manifests = 0;
const servers: (IndexServer | StaticServer)[] = [];

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function manifest(index: string, requirements: string[] = ROOTS, name = 'pypi-e2e'): Promise<string> {
  const path = join(work, `manifest-${++manifests}.yaml`);
  await writeFile(path, [
    'apiVersion: airgap/v1',
    'kind: Bundle',
    `name: ${name}`,
    'pypi:',
    `  - index: ${index}`,
    `    requirements: ${JSON.stringify(requirements)}`,
    '    python: "3.11"',
    '    platforms: [manylinux_2_17_x86_64]',
    '',
  ].join('\n'));
  return path;
}

async function pack(manifestPath: string, out: string, extra: string[] = []) {
  return runAirgap(['pack', manifestPath, '--out', out, '--key', join(keys, 'outside.key'), '--cache', join(work, `cache-${manifests}`), ...extra], { cwd: work });
}

beforeAll(async () => {
  work = await tempDir('airgap-pypi-e2e-');
  wheels = await buildWheels(work);
  upstream = await startIndexServer(wheels);
  servers.push(upstream);
  keys = join(work, 'keys');
  await mkdir(keys, { recursive: true });
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serveMirror(root: string): Promise<StaticServer> {
  const s = await startStaticServer(root);
  // Like nginx `index index.html;`: a folder URL answers with its index.html.
  s.overrides.push(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (!path.endsWith('/')) return false;
    const body = await readFile(join(root, path, 'index.html')).catch(() => undefined);
    if (!body) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'text/html', 'content-length': body.length }).end(body);
    return true;
  });
  servers.push(s);
  return s;
}

describe('airgap pack/unpack with pypi', () => {
  let bundle: string;
  let mirror: string;

  beforeAll(async () => {
    const r = await pack(await manifest(upstream.indexUrl), join(work, 'out'), ['--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    bundle = JSON.parse(r.stdout).bundle;
    mirror = join(work, 'mirror');
  });

  it('--dry-run lists the resolved set and downloads no distribution file', async () => {
    const before = upstream.requests.length;
    const r = await runAirgap(['pack', await manifest(upstream.indexUrl), '--out', join(work, 'dry'), '--dry-run', '--cache', join(work, 'dry-cache'), '--json'], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const f of ['agap-app', 'agap-lib', 'agap-native', 'agap-pinned', 'agap-speedup']) expect(r.stdout).toContain(f);
    expect(r.stdout).not.toContain('agap-winonly');
    expect(upstream.requests.slice(before).some((q) => q.path.endsWith('.whl'))).toBe(false);
  });

  it('the bundle holds each carried wheel and its metadata, verified', async () => {
    const v = await runAirgapJson(['verify', bundle, '--pub', join(keys, 'outside.pub')]);
    expect(v.exitCode, v.stderr).toBe(0);
    const i = await runAirgapJson<{ artifacts: { kind: string; name: string; version: string; platform: string; digest: string }[] }>(['inspect', bundle]);
    expect(i.json.artifacts.filter((a) => a.kind === 'pypi').map((a) => `${a.name} ${a.version} ${a.platform}`).sort()).toEqual([
      'agap-app 1.0 py3-none-any',
      'agap-lib 1.0 py3-none-any',
      'agap-native 1.0 cp311-cp311-manylinux2014_x86_64',
      'agap-pinned 1.0 py3-none-any',
      'agap-speedup 1.0 py3-none-any',
    ]);
    const tar = await execa('sh', ['-c', 'cat part-* | tar -tf -'], { cwd: bundle });
    for (const f of EXPECTED_LINUX_311) expect(String(tar.stdout)).toContain(`blobs/sha256/${sha256(await readFile(join(wheels, f)))}`);
  });

  it('unpack to dir: gives a mirror from which the real pip downloads exactly the carried set, with no other index', async () => {
    const u = await runAirgapJson(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', join(work, 'ledger.jsonl')]);
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.json.counts).toEqual({ pushed: EXPECTED_LINUX_311.length });
    const served = await serveMirror(mirror);
    const dest = join(work, 'pip-download');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PIP_')) env[k] = v;
    const pip = await execa('python3', [
      '-m', 'pip', 'download', '--index-url', `${served.url}pypi/simple/`, '--python-version', '3.11', '--platform', 'manylinux2014_x86_64',
      '--only-binary', ':all:', '--no-cache-dir', '-d', dest, ...ROOTS,
    ], { env: { ...env, PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' }, extendEnv: false, reject: false });
    expect(pip.exitCode, String(pip.stderr)).toBe(0);
    const got = (await readdir(dest)).sort();
    expect(got).toEqual(EXPECTED_LINUX_311);
    for (const f of got) expect(sha256(await readFile(join(dest, f)))).toBe(sha256(await readFile(join(wheels, f))));
  });

  it('a second unpack finds every file present', async () => {
    const u = await runAirgapJson(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', join(work, 'ledger.jsonl')]);
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.json.counts).toEqual({ present: EXPECTED_LINUX_311.length });
  });

  it('unpack to Nexus uploads each file as twine does, byte-identical; a re-run sends nothing', async () => {
    const nexus = await startNexusDouble();
    try {
      const config = join(work, 'nexus.yaml');
      await writeFile(config, [
        `trust: [${join(keys, 'outside.pub')}]`,
        'targets:',
        '  nexus:',
        '    type: nexus',
        `    url: ${nexus.url}`,
        '    usernameEnv: NEXUS_USER',
        '    passwordEnv: NEXUS_PASSWORD',
        '    repositories: { pypi: pypi-hosted }',
        '',
      ].join('\n'));
      const env = { NEXUS_USER: DEFAULT_USER.username, NEXUS_PASSWORD: DEFAULT_USER.password, HTTP_PROXY: undefined, HTTPS_PROXY: undefined, http_proxy: undefined, https_proxy: undefined };
      const args = ['unpack', bundle, '--to', 'nexus', '--config', config, '--ledger', join(work, 'nexus-ledger.jsonl')];
      const first = await runAirgapJson(args, { cwd: work, env });
      expect(first.exitCode, first.stderr).toBe(0);
      expect(first.json.counts).toEqual({ pushed: EXPECTED_LINUX_311.length });
      const uploads = pypiUploads(nexus, 'pypi-hosted');
      expect(uploads.map((u) => u.filename).sort()).toEqual(EXPECTED_LINUX_311);
      for (const u of uploads) {
        const fields = new Map(u.fields);
        for (const k of [':action', 'protocol_version', 'name', 'version', 'filetype', 'pyversion', 'metadata_version', 'sha256_digest']) expect(fields.has(k), `${u.filename}: ${k}`).toBe(true);
        const bytes = (await nexus.storage.read('pypi-hosted', u.path))!;
        expect(sha256(bytes)).toBe(sha256(await readFile(join(wheels, u.filename))));
        expect(fields.get('sha256_digest')).toBe(sha256(bytes));
      }
      const writes = nexus.writes().length;
      const again = await runAirgapJson(args, { cwd: work, env });
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.json.counts).toEqual({ present: EXPECTED_LINUX_311.length });
      expect(nexus.writes()).toHaveLength(writes);
    } finally {
      await nexus.close();
    }
  });
});

describe('airgap pack failures with pypi', () => {
  it('a file whose bytes do not match the index hash fails the pack (exit 3) naming it; no bundle is left', async () => {
    const victim = 'agap_native-1.0-cp311-cp311-manylinux2014_x86_64.whl';
    const bad = await startIndexServer(wheels, { tamper: new Set([victim]) });
    servers.push(bad);
    const out = join(work, 'out-tamper');
    const r = await pack(await manifest(bad.indexUrl, ROOTS, 'pypi-tamper'), out);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain(victim);
    expect(r.stderr).toMatch(/sha256/);
    expect((await readdir(out).catch(() => [] as string[])).filter((f) => f.startsWith('pypi-tamper'))).toEqual([]);
  });

  it('an unsatisfiable requirement exits 2 naming both sides of the conflict (docs/exit-codes.md: a requirement set the index cannot satisfy)', async () => {
    const r = await pack(await manifest(upstream.indexUrl, ['agap-pinned', 'agap-lib>=2'], 'pypi-conflict'), join(work, 'out-conflict'));
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('agap-lib>=2');
    expect(r.stderr).toContain('agap-lib (<2)');
    expect(r.stderr).toContain('agap-pinned 1.0');
  });

  it('a manifest entry with an unknown key is a usage error (exit 2) naming it', async () => {
    const path = join(work, 'bad-manifest.yaml');
    await writeFile(path, `apiVersion: airgap/v1\nkind: Bundle\nname: bad\npypi:\n  - index: ${upstream.indexUrl}\n    requirements: [agap-lib]\n    python: "3.11"\n    platform: [manylinux_2_17_x86_64]\n`);
    const r = await pack(path, join(work, 'out-bad'));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('platform');
  });
});
