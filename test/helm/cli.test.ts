/**
 * Issue 10 "must show" through the real CLI (bin/run.js): charts packaged from fixture folders (GNU tar +
 * gzip in Helm's layout, a .prov clearsigned by gpg), an index.yaml with a relative and an absolute URL
 * served on loopback → pack → unpack into a dir: mirror (index.yaml regenerated, every chart downloadable
 * from the served mirror) and into the Nexus test double (helm-hosted PUTs, byte-identical; re-run sends
 * nothing). Digest mismatch upstream fails the pack naming chart and version.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, startStaticServer, tempDir, type StaticServer } from '../harness/index.js';
import { DEFAULT_USER, startNexusDouble } from '../nexus-double/index.js';
import { type FixtureCharts, indexEntry, makeCharts, sha256Hex } from './fixtures.js';

let work: string;
let keys: string;
let upstream: StaticServer;
let fx: FixtureCharts;
let prov: Buffer;
/** Raw request URLs (with query) the upstream saw. */
const seen: string[] = [];
let packs = 0;
let signerMade = false;

const REGISTRY = 'registry.invalid:5000';

async function clearsign(text: string): Promise<Buffer> {
  const home = join(work, 'gnupg');
  const env = { GNUPGHOME: home };
  if (!signerMade) {
    await mkdir(home, { recursive: true, mode: 0o700 });
    await execa('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Chart Signer <charts@example.test>', 'ed25519', 'sign', 'never'], { env });
    signerMade = true;
  }
  try {
    const { stdout } = await execa('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--clearsign'], { env, input: text, stripFinalNewline: false, encoding: 'buffer' });
    return Buffer.from(stdout);
  } finally {
    // gpg leaves a gpg-agent per home running; it outlives the test and holds an inotify instance.
    await execa('gpgconf', ['--homedir', home, '--kill', 'all'], { reject: false });
  }
}

async function writeIndex(entries: Record<string, unknown[]>): Promise<void> {
  await writeFile(join(work, 'site', 'stable', 'index.yaml'), stringifyYaml({ apiVersion: 'v1', entries, generated: '2026-01-02T03:04:05Z' }));
}

function defaultEntries() {
  const a = fx.archives;
  return {
    web: [
      indexEntry('web', '1.3.0-rc.1', 'charts/web-1.3.0-rc.1.tgz', a['web-1.3.0-rc.1.tgz']),
      // relative URL, resolved against the repo URL + `/` with its query string
      indexEntry('web', '1.2.0', 'charts/web-1.2.0.tgz', a['web-1.2.0.tgz'], { appVersion: '2.0.1', description: 'a web app', 'x-generator-note': 'not a Helm field' }),
      indexEntry('web', '1.1.0', 'charts/web-1.1.0.tgz', a['web-1.1.0.tgz']),
    ],
    // absolute URL on another path of the server
    tools: [indexEntry('tools', '0.1.0', `${upstream.url}cdn/tools-0.1.0.tgz`, a['tools-0.1.0.tgz'])],
  };
}

async function manifest(name: string, charts: string[]): Promise<string> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, ['apiVersion: airgap/v1', 'kind: Bundle', `name: ${name}`, 'charts:', ...charts, ''].join('\n'));
  return file;
}

const repo = () => `${upstream.url}stable?token=abc`;

async function pack(file: string, extra: string[] = []) {
  return runAirgap(['pack', file, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, `cache-${++packs}`), ...extra], { cwd: work });
}

async function packBundle(file: string): Promise<string> {
  const r = await runAirgapJson<{ bundle: string }>(['pack', file, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, `cache-${++packs}`)], { cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.json.bundle;
}

beforeAll(async () => {
  work = await tempDir('airgap-helm-e2e-');
  fx = await makeCharts(work, REGISTRY);
  const site = join(work, 'site');
  await mkdir(join(site, 'stable', 'charts'), { recursive: true });
  await mkdir(join(site, 'cdn'), { recursive: true });
  for (const [file, bytes] of Object.entries(fx.archives)) {
    await writeFile(join(site, file.startsWith('tools') ? 'cdn' : 'stable/charts', file), bytes);
  }
  const chartYaml = 'apiVersion: v2\nname: web\nversion: 1.2.0\n';
  prov = await clearsign(`${chartYaml}\n...\nfiles:\n  web-1.2.0.tgz: sha256:${sha256Hex(fx.archives['web-1.2.0.tgz'])}\n`);
  await writeFile(join(site, 'stable', 'charts', 'web-1.2.0.tgz.prov'), prov);
  upstream = await startStaticServer(site);
  upstream.overrides.push((req) => {
    seen.push(req.url ?? '');
    return false;
  });
  await writeIndex(defaultEntries());
  keys = join(work, 'keys');
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
});

afterAll(async () => {
  await upstream?.close();
});

describe('charts from an HTTP repository', () => {
  it('pack → unpack dir: → helm/index.yaml parses, digests are the files\' sha256, every chart downloads from the served mirror; re-run is present', async () => {
    const bundle = await packBundle(await manifest('charts-a', [
      `  - { repo: "${repo()}", name: web, version: "1.x" }`,
      `  - { repo: "${repo()}", name: tools, version: "0.1.0" }`,
    ]));
    // The relative URL kept the repo's query string (Helm's ResolveReferenceURL).
    expect(seen).toContain('/stable/index.yaml?token=abc');
    expect(seen).toContain('/stable/charts/web-1.2.0.tgz?token=abc');
    expect(seen).toContain('/cdn/tools-0.1.0.tgz');

    const mirror = join(work, 'mirror');
    const pub = join(keys, 'outside.pub');
    const u = await runAirgapJson<{ artifacts: { name: string; version: string; action: string }[] }>(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', pub, '--ledger', join(work, 'ledger.jsonl')]);
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.json.artifacts.map((a) => `${a.name}@${a.version} ${a.action}`).sort()).toEqual(['tools@0.1.0 pushed', 'web@1.2.0 pushed']);

    expect((await readdir(join(mirror, 'helm'))).sort()).toEqual(['index.yaml', 'tools-0.1.0.tgz', 'web-1.2.0.tgz', 'web-1.2.0.tgz.prov']);
    // carried byte for byte, never re-packed
    expect(sha256Hex(await readFile(join(mirror, 'helm', 'web-1.2.0.tgz')))).toBe(sha256Hex(fx.archives['web-1.2.0.tgz']));
    expect((await readFile(join(mirror, 'helm', 'web-1.2.0.tgz.prov'))).equals(prov)).toBe(true);

    const index = parseYaml(await readFile(join(mirror, 'helm', 'index.yaml'), 'utf8'));
    expect(index.apiVersion).toBe('v1');
    expect(Number.isNaN(Date.parse(index.generated))).toBe(false);
    expect(Object.keys(index.entries).sort()).toEqual(['tools', 'web']);
    expect(index.entries.web[0]).toMatchObject({ name: 'web', version: '1.2.0', apiVersion: 'v2', appVersion: '2.0.1', description: 'a web app', urls: ['web-1.2.0.tgz'] });
    // Helm loads an index strictly: fields that are not Helm's are not carried into the mirror's index
    expect(Object.keys(index.entries.web[0]).sort()).toEqual(['apiVersion', 'appVersion', 'created', 'description', 'digest', 'name', 'urls', 'version']);

    const served = await startStaticServer(join(mirror, 'helm'));
    try {
      for (const list of Object.values(index.entries) as { urls: string[]; digest: string; name: string; version: string }[][]) {
        for (const e of list) {
          expect(e.urls[0]).not.toMatch(/[:/]/); // relative
          const { stdout } = await execa('sha256sum', [join(mirror, 'helm', e.urls[0])]);
          expect(e.digest).toBe(stdout.split(' ')[0]);
          const res = await fetch(new URL(e.urls[0], served.url));
          expect(res.status).toBe(200);
          const bytes = Buffer.from(await res.arrayBuffer());
          expect(sha256Hex(bytes)).toBe(e.digest);
          expect(bytes.equals(fx.archives[`${e.name}-${e.version}.tgz`])).toBe(true);
        }
      }
    } finally {
      await served.close();
    }

    const again = await runAirgapJson<{ artifacts: { action: string }[] }>(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', pub, '--ledger', join(work, 'ledger.jsonl')]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json.artifacts.map((a) => a.action)).toEqual(['present', 'present']);

    // A later bundle adds to the mirror's index; the charts of the first stay listed.
    const later = await packBundle(await manifest('charts-b', [`  - { repo: "${repo()}", name: web, version: "1.1.0" }`]));
    const u2 = await runAirgap(['unpack', later, '--to', `dir:${mirror}`, '--pub', pub, '--ledger', join(work, 'ledger.jsonl')]);
    expect(u2.exitCode, u2.stderr).toBe(0);
    const index2 = parseYaml(await readFile(join(mirror, 'helm', 'index.yaml'), 'utf8'));
    expect(index2.entries.web.map((e: { version: string }) => e.version)).toEqual(['1.2.0', '1.1.0']);
    expect(index2.entries.tools.map((e: { version: string }) => e.version)).toEqual(['0.1.0']);
    expect(index2.entries.web[1].digest).toBe(sha256Hex(fx.archives['web-1.1.0.tgz']));
  });

  it('prerelease versions only when asked; a range with no match exits 1 naming chart and range', async () => {
    const list = async (entry: string) => {
      const r = await runAirgapJson<{ list: { name: string; version: string }[] }>(['pack', await manifest('charts-pre', [entry]), '--dry-run', '--out', join(work, 'out'), '--cache', join(work, `cache-${++packs}`)], { cwd: work });
      expect(r.exitCode, r.stderr).toBe(0);
      return r.json.list.map((a) => a.version);
    };
    expect(await list(`  - { repo: "${repo()}", name: web }`)).toEqual(['1.2.0']);
    expect(await list(`  - { repo: "${repo()}", name: web, version: "1.x", prerelease: true }`)).toEqual(['1.3.0-rc.1']);
    expect(await list(`  - { repo: "${repo()}", name: web, version: ">=1.3.0-rc.0" }`)).toEqual(['1.3.0-rc.1']);
    const none = await pack(await manifest('charts-none', [`  - { repo: "${repo()}", name: web, version: "^2.0.0" }`]), ['--dry-run']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('chart web: no version matches ^2.0.0');
    const typo = await pack(await manifest('charts-typo', [`  - { repo: "${repo()}", name: wbe }`]), ['--dry-run']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('nearest charts: web');
  });

  it('a digest mismatch upstream fails the pack (exit 3) naming chart and version; no bundle is written', async () => {
    const entries = defaultEntries();
    entries.web[1] = { ...entries.web[1], digest: sha256Hex(Buffer.from('something else')) };
    await writeIndex(entries);
    try {
      const out = join(work, 'out-mismatch');
      const r = await runAirgap(['pack', await manifest('charts-bad', [`  - { repo: "${repo()}", name: web, version: "1.2.0" }`]), '--out', out, '--key', join(keys, 'outside.key'), '--cache', join(work, `cache-${++packs}`)], { cwd: work });
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/chart web@1\.2\.0: .*web-1\.2\.0\.tgz.* does not match the digest in the repository index/);
      expect(await readdir(out).catch(() => [])).toEqual([]);
    } finally {
      await writeIndex(defaultEntries());
    }
  });

  it('a .prov that signs other bytes fails the pack (exit 3); a second pack with the same cache downloads nothing again', async () => {
    const goodProv = join(work, 'site', 'stable', 'charts', 'web-1.2.0.tgz.prov');
    await writeFile(goodProv, await clearsign(`name: web\n\n...\nfiles:\n  web-1.2.0.tgz: sha256:${sha256Hex(Buffer.from('other bytes'))}\n`));
    try {
      const r = await pack(await manifest('charts-badprov', [`  - { repo: "${repo()}", name: web, version: "1.2.0" }`]));
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toContain('chart web@1.2.0: ');
      expect(r.stderr).toMatch(/web-1\.2\.0\.tgz\.prov\?token=abc is the provenance of other bytes/);
    } finally {
      await writeFile(goodProv, prov);
    }
    const file = await manifest('charts-cache', [`  - { repo: "${repo()}", name: web, version: "1.2.0" }`]);
    const cache = join(work, 'cache-reuse');
    // a fresh --out each time: two packs of one manifest in the same second would name the same bundle
    const run = () => runAirgap(['pack', file, '--out', join(work, `out-cache-${++packs}`), '--key', join(keys, 'outside.key'), '--cache', cache], { cwd: work });
    const gets = () => upstream.requests.filter((q) => q.path.startsWith('/stable/charts/')).length;
    const before = gets();
    expect((await run()).exitCode).toBe(0);
    expect(gets() - before).toBe(2); // .tgz and .prov
    const again = await run();
    expect(again.exitCode, again.stderr).toBe(0);
    expect(gets() - before).toBe(2);
  });

  it('bad chart entries are refused with exit 2 naming the key', async () => {
    const r = await pack(await manifest('charts-usage', [`  - { repo: "${repo()}", name: web, version: "1.x", imagez: true }`]), ['--dry-run']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/charts\[0\].*imagez/);
    const oci = await pack(await manifest('charts-usage2', ['  - { ref: "oci://127.0.0.1:1/charts/web" }']), ['--dry-run']);
    expect(oci.exitCode).toBe(2);
    expect(oci.stderr).toMatch(/charts\[0\]\.ref.*oci:\/\/registry\/path\/name:version/);
    // an image reference the images ecosystem refuses names the chart and where the reference came from
    const img = await pack(await manifest('charts-usage3', [`  - { repo: "${repo()}", name: web, version: "1.2.0", extraImages: ["Not/A Ref:1"] }`]), ['--dry-run']);
    expect(img.exitCode, img.stderr).toBe(2);
    expect(img.stderr).toContain('chart web@1.2.0: image Not/A Ref:1 (from extraImages): ');
  });

  it('unpack --to nexus: the .tgz and .prov are PUT byte-identical at the helm-hosted root; a re-run sends nothing; other bytes under the name fail, unchanged', async () => {
    const bundle = await packBundle(await manifest('charts-nexus', [
      `  - { repo: "${repo()}", name: web, version: "1.2.0" }`,
      `  - { repo: "${repo()}", name: tools, version: "0.1.0" }`,
    ]));
    const d = await startNexusDouble();
    try {
      const cfg = join(work, 'nexus.yaml');
      await writeFile(cfg, [`trust: [${join(keys, 'outside.pub')}]`, 'targets:', '  nexus:', '    type: nexus', `    url: ${d.url}`,
        '    usernameEnv: NEXUS_USER', '    passwordEnv: NEXUS_PASSWORD', '    repositories: { helm: helm-hosted }', ''].join('\n'));
      const env = { NEXUS_USER: DEFAULT_USER.username, NEXUS_PASSWORD: DEFAULT_USER.password };
      const run = () => runAirgapJson<{ artifacts: { name: string; action: string }[] }>(['unpack', bundle, '--to', 'nexus', '--config', cfg, '--ledger', join(work, 'ledger-nexus.jsonl')], { cwd: work, env });
      const first = await run();
      expect(first.exitCode, first.stderr).toBe(0);
      expect(d.writes().map((r) => `${r.method} ${r.path} ${r.status}`).sort()).toEqual([
        'PUT /repository/helm-hosted/tools-0.1.0.tgz 200',
        'PUT /repository/helm-hosted/web-1.2.0.tgz 200',
        'PUT /repository/helm-hosted/web-1.2.0.tgz.prov 200',
      ]);
      for (const f of ['web-1.2.0.tgz', 'tools-0.1.0.tgz']) expect((await d.storage.read('helm-hosted', f))!.equals(fx.archives[f])).toBe(true);
      expect((await d.storage.read('helm-hosted', 'web-1.2.0.tgz.prov'))!.equals(prov)).toBe(true);
      const writes = d.writes().length;
      const second = await run();
      expect(second.exitCode, second.stderr).toBe(0);
      expect(second.json.artifacts.map((a) => a.action)).toEqual(['present', 'present']);
      expect(d.writes()).toHaveLength(writes);
    } finally {
      await d.close();
    }

    // Other bytes under the same chart file name: a failure naming it, never an overwrite (exit 4).
    const other = await startNexusDouble();
    try {
      await other.storage.put(other.repositories.get('helm-hosted')!, 'web-1.2.0.tgz', fx.archives['web-1.1.0.tgz'], { component: { name: 'web', version: '1.2.0' } });
      const cfg = join(work, 'nexus-other.yaml');
      await writeFile(cfg, [`trust: [${join(keys, 'outside.pub')}]`, 'targets:', '  nexus:', '    type: nexus', `    url: ${other.url}`,
        '    usernameEnv: NEXUS_USER', '    passwordEnv: NEXUS_PASSWORD', '    repositories: { helm: helm-hosted }', ''].join('\n'));
      const r = await runAirgap(['unpack', bundle, '--to', 'nexus', '--config', cfg, '--ledger', join(work, 'ledger-nexus-other.jsonl')], { cwd: work, env: { NEXUS_USER: DEFAULT_USER.username, NEXUS_PASSWORD: DEFAULT_USER.password } });
      expect(r.exitCode).toBe(4);
      expect(r.stderr).toContain('helm-hosted/web-1.2.0.tgz: already exists with a different checksum');
      expect((await other.storage.read('helm-hosted', 'web-1.2.0.tgz'))!.equals(fx.archives['web-1.1.0.tgz'])).toBe(true);
      expect((await other.storage.read('helm-hosted', 'tools-0.1.0.tgz'))!.equals(fx.archives['tools-0.1.0.tgz'])).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('credentials go to the repository host only; unset credential variables exit 2; a wrong repo URL exits 1 naming index.yaml', async () => {
    const entries = defaultEntries();
    // the same server under another host name: a chart on another host gets no Authorization (Helm's default)
    entries.tools = [indexEntry('tools', '0.1.0', `http://localhost:${upstream.port}/cdn/tools-0.1.0.tgz`, fx.archives['tools-0.1.0.tgz'])];
    await writeIndex(entries);
    try {
      const before = upstream.requests.length;
      const file = await manifest('charts-auth', [
        `  - { repo: "${repo()}", name: web, version: "1.2.0", usernameEnv: CHART_USER, passwordEnv: CHART_PASSWORD }`,
        `  - { repo: "${repo()}", name: tools, version: "0.1.0", usernameEnv: CHART_USER, passwordEnv: CHART_PASSWORD }`,
      ]);
      const r = await runAirgap(['pack', file, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, `cache-${++packs}`)], { cwd: work, env: { CHART_USER: 'reader', CHART_PASSWORD: 'chart-secret-pw' } });
      expect(r.exitCode, r.stderr).toBe(0);
      const basic = 'Basic ' + Buffer.from('reader:chart-secret-pw').toString('base64');
      const reqs = upstream.requests.slice(before);
      expect(reqs.filter((q) => q.path.startsWith('/stable/')).map((q) => q.headers.authorization)).toEqual(expect.arrayContaining([basic]));
      expect(reqs.filter((q) => q.path.startsWith('/stable/')).every((q) => q.headers.authorization === basic)).toBe(true);
      const cdn = reqs.filter((q) => q.path.startsWith('/cdn/'));
      expect(cdn.length).toBeGreaterThan(0);
      expect(cdn.every((q) => q.headers.authorization === undefined)).toBe(true);
      expect(r.stdout + r.stderr).not.toContain('chart-secret-pw');

      const unset = await runAirgap(['pack', file, '--dry-run', '--out', join(work, 'out'), '--cache', join(work, `cache-${++packs}`)], { cwd: work, env: { CHART_USER: 'reader' } });
      expect(unset.exitCode).toBe(2);
      expect(unset.stderr).toContain('environment variable CHART_PASSWORD is not set');
    } finally {
      await writeIndex(defaultEntries());
    }
    const wrong = await pack(await manifest('charts-wrong', [`  - { repo: "${upstream.url}nowhere", name: web }`]), ['--dry-run']);
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toContain(`GET ${upstream.url}nowhere/index.yaml: HTTP 404`);
  });

  it('unpack dir: refuses to overwrite a chart file that holds other bytes; the other charts are published (exit 4)', async () => {
    const bundle = await packBundle(await manifest('charts-conflict', [
      `  - { repo: "${repo()}", name: web, version: "1.2.0" }`,
      `  - { repo: "${repo()}", name: tools, version: "0.1.0" }`,
    ]));
    const mirror = join(work, 'mirror-conflict');
    await mkdir(join(mirror, 'helm'), { recursive: true });
    await writeFile(join(mirror, 'helm', 'web-1.2.0.tgz'), 'an older, different file');
    const u = await runAirgap(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', join(work, 'ledger-conflict.jsonl')]);
    expect(u.exitCode).toBe(4);
    expect(u.stderr).toContain(`${join(mirror, 'helm', 'web-1.2.0.tgz')} already exists with different content than chart web@1.2.0`);
    expect(await readFile(join(mirror, 'helm', 'web-1.2.0.tgz'), 'utf8')).toBe('an older, different file');
    expect((await readFile(join(mirror, 'helm', 'tools-0.1.0.tgz'))).equals(fx.archives['tools-0.1.0.tgz'])).toBe(true);
    // the index lists what is in place and correct, not the refused chart
    const index = parseYaml(await readFile(join(mirror, 'helm', 'index.yaml'), 'utf8'));
    expect(Object.keys(index.entries)).toEqual(['tools']);
  });
});
