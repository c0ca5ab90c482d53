/**
 * Issue 4 "must show": `airgap unpack --to nexus` through the real CLI (bin/run.js) against the Nexus
 * test double (test/nexus-double, which follows docs/reference/nexus-api.md). Files are packed from a static
 * HTTP server on loopback into a signed bundle first.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, startStaticServer, tempDir, type StaticServer } from '../harness/index.js';
import { DEFAULT_USER, type NexusDouble, type NexusDoubleOptions, startNexusDouble } from '../nexus-double/index.js';
import { makeTestCa } from './support.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const files: Record<string, Buffer> = {
  'velero/velero-v1.14.1-linux-amd64.tar.gz': randomBytes(700_000),
  'tools/kubectl': randomBytes(300_000),
  'notes.txt': Buffer.from('carried across the air gap\n'),
};

let work: string;
let upstream: StaticServer;
let bundle: string;
let pub: string;
let double: NexusDouble | undefined;
let runs = 0;

const PASSWORD = DEFAULT_USER.password;
const env = (password = PASSWORD) => ({ NEXUS_USER: DEFAULT_USER.username, NEXUS_PASSWORD: password, HTTP_PROXY: undefined, HTTPS_PROXY: undefined, http_proxy: undefined, https_proxy: undefined });

async function config(d: NexusDouble, extra: { caFile?: string; repositories?: Record<string, string> } = {}): Promise<string> {
  const file = join(work, `airgap-${++runs}.yaml`);
  const repos = Object.entries(extra.repositories ?? { raw: 'raw-hosted' }).map(([k, v]) => `${k}: ${v}`).join(', ');
  await writeFile(file, [
    `trust: [${pub}]`,
    `http: { retries: 3${extra.caFile ? `, caFile: ${extra.caFile}` : ''} }`,
    'targets:',
    '  nexus:',
    '    type: nexus',
    `    url: ${d.url}`,
    '    usernameEnv: NEXUS_USER',
    '    passwordEnv: NEXUS_PASSWORD',
    `    repositories: { ${repos} }`,
    '',
  ].join('\n'));
  return file;
}

async function unpack(d: NexusDouble, opts: { password?: string; extra?: string[]; caFile?: string; repositories?: Record<string, string> } = {}) {
  const ledger = join(work, `ledger-${runs + 1}.jsonl`);
  const cfg = await config(d, opts);
  const r = await runAirgap(['unpack', bundle, '--to', 'nexus', '--config', cfg, '--ledger', ledger, ...(opts.extra ?? [])], { cwd: work, env: env(opts.password) });
  const text = await readFile(ledger, 'utf8').catch(() => '');
  return { ...r, ledger, ledgerText: text, records: text.trim() ? text.trim().split('\n').map((l) => JSON.parse(l)) : [] };
}

async function nexus(opts: NexusDoubleOptions = {}): Promise<NexusDouble> {
  double = await startNexusDouble(opts);
  return double;
}

beforeAll(async () => {
  work = await tempDir('airgap-nexus-e2e-');
  const site = join(work, 'site');
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(join(site, path, '..'), { recursive: true });
    await writeFile(join(site, path), bytes);
  }
  upstream = await startStaticServer(site);
  const manifest = join(work, 'manifest.yaml');
  await writeFile(manifest, ['apiVersion: airgap/v1', 'kind: Bundle', 'name: nexus-files', 'files:',
    ...Object.keys(files).map((p) => `  - url: ${upstream.url}${p}\n    sha256: ${sha256(files[p])}\n    path: ${p}`), ''].join('\n'));
  const keys = join(work, 'keys');
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  pub = join(keys, 'outside.pub');
  const p = await runAirgap(['pack', manifest, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache'), '--json'], { cwd: work });
  expect(p.exitCode, p.stderr).toBe(0);
  bundle = JSON.parse(p.stdout).bundle;
});

afterAll(async () => {
  await upstream?.close();
});
afterEach(async () => {
  await double?.close();
  double = undefined;
});

const fileRecords = (records: any[]) => records.filter((r) => r.kind === 'file');

describe('unpack --to nexus (raw)', () => {
  it('publishes every file byte-identical at its path, records pushed; a second run records present and sends no PUT', async () => {
    const d = await nexus();
    const first = await unpack(d);
    expect(first.exitCode, first.stderr).toBe(0);
    for (const [path, bytes] of Object.entries(files)) {
      const stored = await d.storage.read('raw-hosted', path);
      expect(stored, path).toBeDefined();
      expect(sha256(stored!)).toBe(sha256(bytes));
    }
    expect(d.writes().map((r) => `${r.method} ${r.path} ${r.status}`).sort()).toEqual(Object.keys(files).map((p) => `PUT /repository/raw-hosted/${p} 201`).sort());
    expect(fileRecords(first.records).map((r) => [r.name, r.action, r.target])).toEqual(expect.arrayContaining(Object.keys(files).map((p) => [p, 'pushed', 'nexus'])));
    expect(fileRecords(first.records)).toHaveLength(3);

    const puts = d.writes().length;
    const second = await unpack(d);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(fileRecords(second.records).map((r) => r.action)).toEqual(['present', 'present', 'present']);
    expect(d.writes()).toHaveLength(puts);
    // credentials never reach output or the ledger (docs/ledger.md)
    const basic = Buffer.from(`${DEFAULT_USER.username}:${PASSWORD}`).toString('base64');
    for (const text of [first.stdout, first.stderr, first.ledgerText, second.stdout, second.stderr, second.ledgerText]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(basic);
    }
  });

  it('--dry-run runs the preflight and sends nothing', async () => {
    const d = await nexus();
    const ok = await unpack(d, { extra: ['--dry-run'] });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(d.requests.map((r) => r.path)).toContain('/service/rest/v1/repositories');
    expect(d.writes()).toEqual([]);
    d.addRepository({ name: 'raw-hosted', format: 'raw', type: 'proxy' });
    const bad = await unpack(d, { extra: ['--dry-run'] });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('raw-hosted: is a proxy repository; airgap publishes to hosted repositories');
    expect(d.writes()).toEqual([]);
  });

  const preflightCases: [string, NexusDoubleOptions, RegExp, boolean?][] = [
    ['missing repository', { repositories: [{ name: 'npm-hosted', format: 'npm' }] }, /raw-hosted: no such repository/],
    ['proxy repository', { repositories: [{ name: 'raw-hosted', format: 'raw', type: 'proxy' }] }, /raw-hosted: is a proxy repository; airgap publishes to hosted repositories/],
    ['wrong format', { repositories: [{ name: 'raw-hosted', format: 'maven2' }] }, /raw-hosted: is a maven2 repository, but the bundle's raw artifacts need a raw repository/],
    ['read-only Nexus', {}, /Nexus is read-only/, true],
    ['read-only repository (DENY)', { repositories: [{ name: 'raw-hosted', format: 'raw', writePolicy: 'DENY' }], users: [{ ...DEFAULT_USER, admin: true }] }, /raw-hosted: write policy is DENY/],
  ];
  it.each(preflightCases)('preflight refuses a %s: exit 1 before any upload', async (_name, opts, line, readOnly) => {
    const d = await nexus(opts);
    if (readOnly) d.writable = false;
    const r = await unpack(d);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(line);
    expect(r.stderr).toMatch(/cannot take this bundle; nothing was sent/);
    expect(d.writes()).toEqual([]);
    expect(d.requests.filter((q) => q.path.startsWith('/repository/'))).toEqual([]);
    expect(fileRecords(r.records)).toEqual([]);
  });

  it('a format the target does not map is refused before anything is sent', async () => {
    const d = await nexus();
    const r = await unpack(d, { repositories: { npm: 'npm-hosted' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/maps no repository for raw/);
    expect(d.requests).toEqual([]);
  });

  it('a wrong password: exit 1 naming NEXUS_PASSWORD; the password appears nowhere', async () => {
    const d = await nexus();
    const wrong = 'n0t-the-Right-pa55word';
    const r = await unpack(d, { password: wrong });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/HTTP 401/);
    expect(r.stderr).toContain('NEXUS_PASSWORD');
    const basic = Buffer.from(`${DEFAULT_USER.username}:${wrong}`).toString('base64');
    for (const text of [r.stdout, r.stderr, r.ledgerText]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(basic);
    }
    expect(d.writes()).toEqual([]);
  });

  it('retries: 503 twice, then 201', async () => {
    const d = await nexus();
    d.fail({ method: 'PUT', path: '/repository/raw-hosted/notes.txt', times: 2, status: 503 });
    const r = await unpack(d);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(d.writes().filter((w) => w.path.endsWith('notes.txt')).map((w) => w.status)).toEqual([503, 503, 201]);
    expect((await d.storage.read('raw-hosted', 'notes.txt'))!.equals(files['notes.txt'])).toBe(true);
    expect(fileRecords(r.records).every((x) => x.action === 'pushed')).toBe(true);
  });

  it('400 "cannot be updated" with a different checksum: exit 4 naming the asset; the others are pushed', async () => {
    const d = await nexus();
    const other = randomBytes(100);
    await d.storage.put(d.repositories.get('raw-hosted')!, 'tools/kubectl', other, { component: { name: 'tools/kubectl', group: '/tools' } });
    // A HEAD answered elsewhere (a group in front, docs/reference/nexus-api.md §11) hides it, so the upload is tried.
    d.fail({ method: 'HEAD', path: '/repository/raw-hosted/tools/kubectl', times: 1, status: 404 });
    const r = await unpack(d);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/raw-hosted\/tools\/kubectl: already exists with a different checksum/);
    expect(r.stderr).toContain('cannot be updated');
    expect((await d.storage.read('raw-hosted', 'tools/kubectl'))!.equals(other)).toBe(true);
    const recs = fileRecords(r.records);
    expect(recs.find((x) => x.name === 'tools/kubectl')).toMatchObject({ action: 'failed', error: expect.stringContaining('raw-hosted/tools/kubectl') });
    expect(recs.filter((x) => x.action === 'pushed')).toHaveLength(2);
  });

  it('TLS with a test CA: refused without http.caFile, published with it', async () => {
    const ca = await makeTestCa(await tempDir('airgap-nexus-ca-'));
    const d = await nexus({ tls: { key: ca.key, cert: ca.cert } });
    const without = await unpack(d);
    expect(without.exitCode).toBe(1);
    expect(without.stderr).toContain(d.url);
    expect(without.stderr).toMatch(/caFile/);
    expect(d.requests).toEqual([]);
    const withCa = await unpack(d, { caFile: ca.caFile });
    expect(withCa.exitCode, withCa.stderr).toBe(0);
    expect(fileRecords(withCa.records).map((x) => x.action)).toEqual(['pushed', 'pushed', 'pushed']);
  });
});
