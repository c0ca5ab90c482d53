import { describe, expect, it } from 'vitest';
import { pathSegments, UnsafePath } from './confined.js';
import { mirrorRepository } from './oci.js';
import { wantsJson } from './pypi.js';
import { parseListen } from './listen.js';
import { planFromTarget } from './client-config/plan.js';
import { renderClientFiles } from './client-config/render.js';

describe('containerd mirror requests (?ns=) → the mirror names', () => {
  it.each([
    ['library/nginx', 'docker.io', 'docker.io/library/nginx'],
    ['nginx', 'docker.io', 'docker.io/library/nginx'],
    ['nginx', 'registry-1.docker.io', 'docker.io/library/nginx'],
    ['bitnami/redis', 'index.docker.io', 'docker.io/bitnami/redis'],
    ['pause', 'registry.k8s.io', 'registry.k8s.io/pause'],
    ['team/app', '127.0.0.1:5000', '127.0.0.1_5000/team/app'],
    ['team/app', 'Registry.Corp:5000', 'registry.corp_5000/team/app'],
    // hosts.toml with override_path: the path already names the host segment
    ['docker.io/library/nginx', 'docker.io', 'docker.io/library/nginx'],
    ['127.0.0.1_5000/team/app', '127.0.0.1:5000', '127.0.0.1_5000/team/app'],
  ])('%s?ns=%s → %s', (path, ns, want) => expect(mirrorRepository(path, ns)).toBe(want));

  it('without ns the path is the mirror name', () => expect(mirrorRepository('docker.io/library/nginx', null)).toBe('docker.io/library/nginx'));
});

describe('request path segments', () => {
  it('decodes each segment once', () => expect(pathSegments('a/b%20c/%252e%252e')).toEqual(['a', 'b c', '%2e%2e']));
  it.each(['..', 'a/../b', '%2e%2e', '.%2E', 'a%2fb', 'a%2Fb', 'a%5cb', 'a\\b', 'a//b', 'a/', '.hidden', 'x/.airgap-tmp/y', 'pack.lock', '%00', '%e0%a4%a'])(
    '%j is refused', (p) => expect(() => pathSegments(p)).toThrow(UnsafePath));
});

describe('PEP 691 negotiation', () => {
  it.each([
    [undefined, false],
    ['text/html', false],
    ['application/vnd.pypi.simple.v1+json', true],
    ['application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01', true],
    ['application/vnd.pypi.simple.v1+html, application/vnd.pypi.simple.v1+json;q=0.5', false],
    ['application/vnd.pypi.simple.v1+json;q=0', false],
  ])('%s → json %s', (accept, want) => expect(wantsJson(accept)).toBe(want));
});

describe('--listen', () => {
  it('parses host:port forms', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen(':8443')).toEqual({ host: '0.0.0.0', port: 8443 });
  });
  it.each(['8080', 'host', 'a:b', '1.2.3.4:70000'])('%s is a usage error', (s) => expect(() => parseListen(s)).toThrow(/--listen/));
});

describe('client-config for a Nexus target', () => {
  const target = { type: 'nexus' as const, url: 'https://nexus.corp.internal', repositories: { docker: 'docker-hosted', apt: 'apt-hosted', yum: 'yum-hosted', pypi: 'pypi-hosted', npm: 'npm-hosted', helm: 'helm-hosted' }, endpoints: { docker: 'https://nexus.corp.internal:8443' } };
  const opts = { registries: ['quay.io'], imageNames: ['docker.io/library/nginx:1.27', 'registry.corp:5000/team/app:1'], aptSuites: ['bookworm'], yumRepos: [], caFile: '/etc/pki/corp-ca.pem' };

  it('keep-host: hosts.toml per upstream with override_path to /v2/<host segment>, ca; every format at its repository URL', () => {
    const files = Object.fromEntries(renderClientFiles(planFromTarget('nexus', target, {}, opts)).map((f) => [f.path, f.text]));
    expect(Object.keys(files).sort()).toEqual([
      'README.md', 'apt/airgap.sources', 'containerd/certs.d/docker.io/hosts.toml', 'containerd/certs.d/quay.io/hosts.toml', 'containerd/certs.d/registry.corp:5000/hosts.toml',
      'crio/registries.conf.d/airgap.conf', 'helm/README.md', 'npm/npmrc', 'pip/pip.conf', 'yum/airgap.repo',
    ]);
    expect(files['containerd/certs.d/docker.io/hosts.toml']).toBe([
      '# containerd: /etc/containerd/certs.d/docker.io/hosts.toml (written by airgap client-config)',
      'server = "https://registry-1.docker.io"', '',
      '[host."https://nexus.corp.internal:8443/v2/docker.io"]', '  capabilities = ["pull", "resolve"]', '  override_path = true', '  ca = "/etc/pki/corp-ca.pem"', '',
    ].join('\n'));
    expect(files['containerd/certs.d/registry.corp:5000/hosts.toml']).toContain('[host."https://nexus.corp.internal:8443/v2/registry.corp_5000"]');
    expect(files['crio/registries.conf.d/airgap.conf']).toContain('location = "nexus.corp.internal:8443/registry.corp_5000"');
    expect(files['crio/registries.conf.d/airgap.conf']).not.toContain('insecure');
    expect(files['pip/pip.conf']).toContain('index-url = https://nexus.corp.internal/repository/pypi-hosted/simple/\ncert = /etc/pki/corp-ca.pem');
    expect(files['npm/npmrc']).toContain('registry=https://nexus.corp.internal/repository/npm-hosted/\n');
    expect(files['npm/npmrc']).toContain('cafile=/etc/pki/corp-ca.pem');
    expect(files['apt/airgap.sources']).toContain('URIs: https://nexus.corp.internal/repository/apt-hosted/\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/airgap-nexus-apt.gpg');
    expect(files['yum/airgap.repo']).toContain('baseurl=https://nexus.corp.internal/repository/yum-hosted/');
    expect(files['helm/README.md']).toContain('helm repo add airgap https://nexus.corp.internal/repository/helm-hosted --ca-file /etc/pki/corp-ca.pem');
  });

  it('strip-host through the repository path (no connector): override_path to …/v2', () => {
    const t = { ...target, endpoints: {}, imageNames: 'strip-host' as const };
    const files = Object.fromEntries(renderClientFiles(planFromTarget('nexus', t, {}, { ...opts, caFile: undefined })).map((f) => [f.path, f.text]));
    expect(files['containerd/certs.d/docker.io/hosts.toml']).toContain('[host."https://nexus.corp.internal/repository/docker-hosted/v2"]\n  capabilities = ["pull", "resolve"]\n  override_path = true\n');
    expect(files['crio/registries.conf.d/airgap.conf']).toContain('location = "nexus.corp.internal/repository/docker-hosted"');
  });

  it('a dir target is refused: it needs --mirror and --server', () => {
    expect(() => planFromTarget('m', { type: 'dir', path: '/srv/mirror' }, {}, opts)).toThrow(/--mirror \/srv\/mirror --server/);
  });
});
