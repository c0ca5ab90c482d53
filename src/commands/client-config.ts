import { Flags } from '@oclif/core';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '@airgap/core';
import { readLedger } from '@airgap/ledger';
import { type ClientPlan, planFromMirror, planFromTarget, writeClientConfig } from '@airgap/serve';
import { AirgapCommand } from '../base-command.js';

export interface ClientConfigResult {
  out: string;
  files: { path: string; installTo: string }[];
}

export default class ClientConfig extends AirgapCommand {
  static override summary = 'Write the client configuration (containerd, CRI-O, apt, dnf, pip, npm, helm) that points nodes at a mirror or a target.';
  static override description = `With --mirror MIRROR --server URL: for what the dir: mirror holds, served by "airgap serve" at URL. With --to TARGET: the Nexus repository / connector endpoints (or the standard servers) of that target in the config; the upstream registries are those of the images the import ledger records (--ledger, else ledger: in the config) plus --registry.

Writes under --out: containerd/certs.d/<upstream registry>/hosts.toml, crio/registries.conf.d/airgap.conf, apt/airgap.sources (deb822; Signed-By the mirror's exported key, copied beside it, when the mirror is signed), yum/airgap.repo, pip/pip.conf, npm/npmrc, helm/README.md, and README.md saying where each file goes on a node. Only the formats the mirror holds (or the target maps) get a file. See docs/serve.md.

Exit codes (docs/exit-codes.md): 0 written, 2 usage or config (no such mirror or target, --server missing with --mirror).`;
  static override examples = [
    '<%= config.bin %> client-config --mirror /srv/mirror --server http://10.0.0.5:8080 --out ./clients',
    '<%= config.bin %> client-config --mirror /srv/mirror --server https://mirror.corp.internal:8443 --ca-file /etc/pki/corp-ca.pem --out ./clients',
    '<%= config.bin %> client-config --to nexus --apt-suite bookworm --out ./clients-nexus --ca-file /etc/pki/corp-ca.pem',
  ];
  static override flags = {
    server: Flags.string({ description: 'URL the nodes reach "airgap serve" at (with --mirror)' }),
    mirror: Flags.string({ description: 'dir: mirror that airgap serve serves', exclusive: ['to'] }),
    to: Flags.string({ description: 'target name from the config (nexus or registries)', exclusive: ['mirror'] }),
    out: Flags.string({ description: 'folder to write the files into', required: true }),
    'ca-file': Flags.string({ description: 'CA certificate path on the nodes, for a server with an internal CA' }),
    registry: Flags.string({ description: 'upstream registry host to configure (repeatable; with --to, besides those in the ledger)', multiple: true, multipleNonGreedy: true, default: [] }),
    'apt-suite': Flags.string({ description: 'apt distribution of the target repository (with --to; Nexus apt-hosted serves one)', multiple: true, multipleNonGreedy: true, default: [] }),
    'yum-repo': Flags.string({ description: 'yum folder under the target repository (with --to and repodata depth 1)', multiple: true, multipleNonGreedy: true, default: [] }),
    ledger: Flags.string({ description: 'import ledger to read image names from (with --to; default: ledger from the config, else ./airgap-ledger.jsonl)' }),
  };

  async run(): Promise<ClientConfigResult> {
    const { flags } = await this.parse(ClientConfig);
    this.makeReporter(this.jsonEnabled());
    let plan: ClientPlan;
    if (flags.mirror) {
      if (!flags.server) throw new UsageError('--mirror needs --server URL (where the nodes reach airgap serve)', { subject: '--server', hint: 'e.g. --server http://10.0.0.5:8080' });
      if (!/^https?:\/\/[^/]+/.test(flags.server)) throw new UsageError(`--server ${flags.server} is not an http(s) URL`, { subject: '--server' });
      const mirror = resolve(flags.mirror);
      if (!(await stat(mirror).catch(() => undefined))?.isDirectory()) throw new UsageError(`mirror ${mirror} is not a folder`, { subject: mirror });
      plan = await planFromMirror(mirror, flags.server, flags['ca-file']);
      if (flags.registry.length && plan.registry) plan.registry.hosts = [...new Set([...plan.registry.hosts, ...flags.registry])].sort();
    } else if (flags.to) {
      const config = await this.loadAirgapConfig(flags.config);
      const target = config.targets?.[flags.to];
      if (!target) throw new UsageError(`no target ${flags.to} in the config`, { subject: flags.to, hint: `targets: ${Object.keys(config.targets ?? {}).join(', ') || '(none)'}` });
      const ledgerPath = resolve(flags.ledger ?? config.ledger ?? 'airgap-ledger.jsonl');
      const records = await readLedger(ledgerPath).catch(() => []);
      const imageNames = records.filter((r) => r.kind === 'image' && (r.action === 'pushed' || r.action === 'present') && r.target === flags.to).map((r) => r.name);
      plan = planFromTarget(flags.to, target, config, { registries: flags.registry, imageNames, aptSuites: flags['apt-suite'], yumRepos: flags['yum-repo'], caFile: flags['ca-file'] });
      if (!plan.registry && target.type !== 'dir') this.reporter.warn(`no image of target ${flags.to} in ${ledgerPath} and no --registry: no containerd/CRI-O files`);
    } else {
      throw new UsageError('give --mirror MIRROR --server URL, or --to TARGET', { subject: 'client-config', hint: 'see --help' });
    }
    const out = resolve(flags.out);
    const files = await writeClientConfig(out, plan);
    this.log(files.map((f) => `${out}/${f.path}${f.installTo ? `  → ${f.installTo}` : ''}`).join('\n'));
    return { out, files: files.map((f) => ({ path: f.path, installTo: f.installTo })) };
  }
}
