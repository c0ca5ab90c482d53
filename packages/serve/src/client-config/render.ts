import { apiHost, isLoopbackHost } from '@airgap/oci';

/**
 * What the clients of one server need to know (docs/serve.md "Client configuration"): where each
 * format is served, and what the mirror holds. Made from a mirror (`--mirror`) or a target (`--to`).
 */
export interface ClientPlan {
  /** Upstream registry hosts (`docker.io`, `registry.k8s.io`, `127.0.0.1:5000`) and how the server names them. */
  registry?: {
    /** The server's registry root, e.g. `http://mirror:8080` (no trailing slash). */
    root: string;
    hosts: string[];
    /**
     * `ns`: the server resolves containerd's `?ns=` requests itself (airgap serve);
     * `keep-host`: the host is the first path segment (a registry target, docs/oci.md);
     * `strip-host`: names without the host.
     */
    names: 'ns' | 'keep-host' | 'strip-host';
    /** The path prefix of the API root below `root` (a Nexus repository path: `/repository/docker-hosted`). */
    pathPrefix?: string;
  };
  apt?: {
    url: string;
    suites: { suite: string; components: string[] }[];
    /** Where the key is installed on a node (Signed-By), and the file written beside the .sources to copy there. */
    keyring?: { installPath: string; file?: string };
  };
  yum?: { name: string; baseurl: string; gpgkey?: string }[];
  pypi?: string;
  npm?: string;
  helm?: string;
  /** The CA file on the nodes, when the server's certificate comes from an internal CA. */
  caFile?: string;
}

/** A file to write under the output folder: path relative to it, and its text. */
export interface ClientFile {
  path: string;
  text: string;
  /** Where it goes on a node (for DIR/README.md). */
  installTo: string;
  /** Copy this file from the mirror instead of writing `text` (a keyring). */
  copyFrom?: string;
}

const q = (s: string) => JSON.stringify(s);

function upstreamServer(host: string): string {
  return `${isLoopbackHost(host) ? 'http' : 'https'}://${apiHost(host)}`;
}

function hostSegment(host: string): string {
  return host.replace(/^\[|\]/g, '').replace(/:/g, '_').toLowerCase();
}

/** containerd `certs.d/<host>/hosts.toml` (docs/oci.md "containerd"). */
function hostsToml(plan: ClientPlan, host: string): string {
  const r = plan.registry!;
  const prefix = r.pathPrefix ?? '';
  const lines = [`# containerd: /etc/containerd/certs.d/${host}/hosts.toml (written by airgap client-config)`, `server = ${q(upstreamServer(host))}`, ''];
  if (r.names === 'ns') lines.push(`[host.${q(r.root + prefix)}]`, '  capabilities = ["pull", "resolve"]');
  else if (r.names === 'keep-host') lines.push(`[host.${q(`${r.root}${prefix}/v2/${hostSegment(host)}`)}]`, '  capabilities = ["pull", "resolve"]', '  override_path = true');
  else if (prefix) lines.push(`[host.${q(`${r.root}${prefix}/v2`)}]`, '  capabilities = ["pull", "resolve"]', '  override_path = true');
  else lines.push(`[host.${q(r.root)}]`, '  capabilities = ["pull", "resolve"]');
  if (plan.caFile) lines.push(`  ca = ${q(plan.caFile)}`);
  return lines.join('\n') + '\n';
}

/** CRI-O / Podman `registries.conf.d/airgap.conf` (docs/oci.md "CRI-O / Podman"). */
function crioConf(plan: ClientPlan): string {
  const r = plan.registry!;
  const root = new URL(r.root);
  const insecure = root.protocol === 'http:';
  const out = ['# CRI-O / Podman: /etc/containers/registries.conf.d/airgap.conf (written by airgap client-config)', ''];
  for (const host of r.hosts) {
    const path = r.names === 'strip-host' ? '' : `/${hostSegment(host)}`;
    out.push('[[registry]]', `prefix = ${q(host)}`, `location = ${q(apiHost(host))}`, '', '[[registry.mirror]]', `location = ${q(`${root.host}${r.pathPrefix ?? ''}${path}`)}`);
    if (insecure) out.push('insecure = true');
    out.push('');
  }
  return out.join('\n');
}

function aptSources(plan: ClientPlan): string {
  const a = plan.apt!;
  const out = ['# apt: /etc/apt/sources.list.d/airgap.sources (written by airgap client-config)'];
  // One stanza per set of components: deb822 lists Suites and Components as a cross product.
  const groups = new Map<string, string[]>();
  for (const s of a.suites) {
    const key = s.components.join(' ');
    groups.set(key, [...(groups.get(key) ?? []), s.suite]);
  }
  for (const [components, suites] of groups) {
    out.push('', 'Types: deb', `URIs: ${a.url}`, `Suites: ${suites.join(' ')}`, `Components: ${components}`);
    out.push(a.keyring ? `Signed-By: ${a.keyring.installPath}` : '# The mirror is unsigned: apt checks nothing (docs/apt.md "Signing the mirror").\nTrusted: yes');
  }
  return out.join('\n') + '\n';
}

function yumRepo(plan: ClientPlan): string {
  const out = ['# dnf/yum: /etc/yum.repos.d/airgap.repo (written by airgap client-config)'];
  for (const r of plan.yum!) {
    out.push('', `[airgap-${r.name}]`, `name=${r.name} (airgap mirror)`, `baseurl=${r.baseurl}`, 'enabled=1');
    if (r.gpgkey) out.push('# the metadata is signed by the mirror key; RPM signatures: add the vendor key to gpgkey= and set gpgcheck=1', 'repo_gpgcheck=1', 'gpgcheck=0', `gpgkey=${r.gpgkey}`);
    else out.push('# unsigned metadata: set gpgcheck=1 with the vendor key in gpgkey= to check RPM signatures', 'repo_gpgcheck=0', 'gpgcheck=0');
    if (plan.caFile) out.push(`sslcacert=${plan.caFile}`);
  }
  return out.join('\n') + '\n';
}

/** Every file for a plan, in a stable order. */
export function renderClientFiles(plan: ClientPlan): ClientFile[] {
  const files: ClientFile[] = [];
  if (plan.registry) {
    for (const host of plan.registry.hosts) {
      files.push({ path: `containerd/certs.d/${host}/hosts.toml`, text: hostsToml(plan, host), installTo: `/etc/containerd/certs.d/${host}/hosts.toml (containerd's config_path = "/etc/containerd/certs.d")` });
    }
    if (plan.registry.hosts.length) files.push({ path: 'crio/registries.conf.d/airgap.conf', text: crioConf(plan), installTo: '/etc/containers/registries.conf.d/airgap.conf' });
  }
  if (plan.apt) {
    files.push({ path: 'apt/airgap.sources', text: aptSources(plan), installTo: '/etc/apt/sources.list.d/airgap.sources' });
    if (plan.apt.keyring?.file) files.push({ path: 'apt/airgap-archive-keyring.gpg', text: '', copyFrom: plan.apt.keyring.file, installTo: plan.apt.keyring.installPath });
  }
  if (plan.yum?.length) files.push({ path: 'yum/airgap.repo', text: yumRepo(plan), installTo: '/etc/yum.repos.d/airgap.repo' });
  if (plan.pypi) {
    files.push({ path: 'pip/pip.conf', text: `# pip: /etc/pip.conf (written by airgap client-config)\n[global]\nindex-url = ${plan.pypi}\n${plan.caFile ? `cert = ${plan.caFile}\n` : ''}`, installTo: '/etc/pip.conf (or ~/.config/pip/pip.conf, or PIP_CONFIG_FILE)' });
  }
  if (plan.npm) {
    files.push({ path: 'npm/npmrc', text: `# npm: /etc/npmrc or ~/.npmrc (written by airgap client-config)\nregistry=${plan.npm}\naudit=false\nfund=false\n${plan.caFile ? `cafile=${plan.caFile}\n` : ''}`, installTo: '~/.npmrc, the project\'s .npmrc, or $PREFIX/etc/npmrc (npm config get globalconfig)' });
  }
  if (plan.helm) {
    const ca = plan.caFile ? ` --ca-file ${plan.caFile}` : '';
    files.push({ path: 'helm/README.md', text: `# Helm\n\n\`\`\`sh\nhelm repo add airgap ${plan.helm}${ca}\nhelm repo update\nhelm search repo airgap/\n\`\`\`\n`, installTo: 'run the commands on the machine that runs helm' });
  }
  files.push({ path: 'README.md', text: readme(plan, files), installTo: '' });
  return files;
}

function readme(plan: ClientPlan, files: ClientFile[]): string {
  const rows = files.map((f) => `| \`${f.path}\` | ${f.installTo} |`);
  return [
    '# Client configuration (airgap client-config)',
    '',
    'Copy each file to the place on the nodes named below. See docs/serve.md in the airgap repository.',
    '',
    '| file | goes to |',
    '|---|---|',
    ...rows,
    '',
    plan.registry ? 'containerd: set `config_path = "/etc/containerd/certs.d"` under `[plugins."io.containerd.grpc.v1.cri".registry]` and restart containerd; images are then pulled by their upstream names.' : '',
    plan.apt?.keyring?.file ? 'apt: the mirror is signed; install `apt/airgap-archive-keyring.gpg` where `Signed-By:` names it.' : '',
    plan.apt?.keyring && !plan.apt.keyring.file ? `apt: install the repository's public signing key (Nexus: the apt repository's GPG key, exported) at ${plan.apt.keyring.installPath}.` : '',
    plan.caFile ? `TLS: every file names the CA ${plan.caFile}; install it there on each node.` : '',
    '',
  ].filter((l, i, a) => l !== '' || a[i - 1] !== '').join('\n');
}
