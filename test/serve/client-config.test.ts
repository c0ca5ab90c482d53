/**
 * `airgap client-config --to TARGET` through the CLI (issue 13, docs/serve.md): the URLs are the
 * target's Nexus repository / connector endpoints from the config, the upstream registries those of the
 * images the import ledger records as published to that target (written here with the ledger's own API).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Ledger, type LedgerEntry } from '@airgap/ledger';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';

let work: string;
let config: string;
let ledger: string;

function entry(name: string, target: string, action: LedgerEntry['action']): LedgerEntry {
  return {
    run: 'r1', bundle: { name: 'b', created: '2026-11-24T10:00:00Z', sha256: 'a'.repeat(64) }, signer: null, kind: 'image', name, version: '1',
    platform: null, digest: `sha256:${'b'.repeat(64)}`, size: 1, target, action, error: null, durationMs: 1,
  };
}

beforeAll(async () => {
  work = await tempDir('airgap-client-config-');
  config = join(work, 'airgap.yaml');
  ledger = join(work, 'ledger.jsonl');
  await writeFile(config, [
    `ledger: ${ledger}`,
    'targets:',
    '  nexus:',
    '    type: nexus',
    '    url: https://nexus.corp.internal',
    '    repositories: { docker: docker-hosted, apt: apt-hosted, yum: yum-hosted, pypi: pypi-hosted, npm: npm-hosted, helm: helm-hosted }',
    '    endpoints: { docker: "https://nexus.corp.internal:8443" }',
    '  harbor:',
    '    type: registries',
    '    imageNames: strip-host',
    '    endpoints: { docker: "https://harbor.corp.internal", npm: "https://verdaccio.corp.internal/" }',
    '  mirror: { type: dir, path: /srv/mirror }',
    '',
  ].join('\n'));
  const l = await Ledger.open(ledger);
  await l.append(entry('docker.io/library/nginx', 'nexus', 'pushed'));
  await l.append(entry('registry.k8s.io/pause', 'nexus', 'present'));
  await l.append(entry('quay.io/failed/one', 'nexus', 'failed'));
  await l.append(entry('ghcr.io/other/target', 'harbor', 'pushed'));
  await l.close();
});

describe('airgap client-config --to TARGET', () => {
  it('a nexus target: hosts.toml per upstream host the ledger names for it (connector port, keep-host), every mapped format', async () => {
    const out = join(work, 'nexus');
    const r = await runAirgapJson<{ files: { path: string }[] }>(['client-config', '--to', 'nexus', '--config', config, '--apt-suite', 'bookworm', '--ca-file', '/etc/pki/corp-ca.pem', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.files.map((f) => f.path).sort()).toEqual([
      'README.md', 'apt/airgap.sources', 'containerd/certs.d/docker.io/hosts.toml', 'containerd/certs.d/registry.k8s.io/hosts.toml',
      'crio/registries.conf.d/airgap.conf', 'helm/README.md', 'npm/npmrc', 'pip/pip.conf', 'yum/airgap.repo',
    ]);
    const toml = await readFile(join(out, 'containerd/certs.d/registry.k8s.io/hosts.toml'), 'utf8');
    expect(toml).toContain('server = "https://registry.k8s.io"');
    expect(toml).toContain('[host."https://nexus.corp.internal:8443/v2/registry.k8s.io"]\n  capabilities = ["pull", "resolve"]\n  override_path = true\n  ca = "/etc/pki/corp-ca.pem"');
    expect(await readFile(join(out, 'pip/pip.conf'), 'utf8')).toContain('index-url = https://nexus.corp.internal/repository/pypi-hosted/simple/');
    expect(await readFile(join(out, 'npm/npmrc'), 'utf8')).toContain('registry=https://nexus.corp.internal/repository/npm-hosted/');
    expect(await readFile(join(out, 'apt/airgap.sources'), 'utf8')).toContain('URIs: https://nexus.corp.internal/repository/apt-hosted/\nSuites: bookworm');
    expect(await readFile(join(out, 'README.md'), 'utf8')).toContain('/etc/containerd/certs.d/docker.io/hosts.toml');
  });

  it('a registries target with strip-host: the registry root, --registry added to the ledger hosts; only its formats', async () => {
    const out = join(work, 'harbor');
    const r = await runAirgapJson<{ files: { path: string }[] }>(['client-config', '--to', 'harbor', '--config', config, '--registry', 'quay.io', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.files.map((f) => f.path).sort()).toEqual(['README.md', 'containerd/certs.d/ghcr.io/hosts.toml', 'containerd/certs.d/quay.io/hosts.toml', 'crio/registries.conf.d/airgap.conf', 'npm/npmrc']);
    expect(await readFile(join(out, 'containerd/certs.d/quay.io/hosts.toml'), 'utf8')).toContain('[host."https://harbor.corp.internal"]\n  capabilities = ["pull", "resolve"]\n');
    expect(await readFile(join(out, 'crio/registries.conf.d/airgap.conf'), 'utf8')).toContain('[[registry.mirror]]\nlocation = "harbor.corp.internal"\n');
  });

  it('exit 2 for an unknown target and for a dir target (it needs --mirror and --server)', async () => {
    const unknown = await runAirgap(['client-config', '--to', 'nope', '--config', config, '--out', join(work, 'x')]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('no target nope');
    const dir = await runAirgap(['client-config', '--to', 'mirror', '--config', config, '--out', join(work, 'x')]);
    expect(dir.exitCode).toBe(2);
    expect(dir.stderr).toContain('--mirror /srv/mirror --server URL');
  });
});
