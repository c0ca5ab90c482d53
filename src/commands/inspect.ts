import { Args } from '@oclif/core';
import { resolve } from 'node:path';
import { artifactSize, formatSize } from '@airgap/core';
import { readBundleDescriptor, readIndexUnverified } from '@airgap/bundle';
import { AirgapCommand } from '../base-command.js';
import { checkBundleDir } from '../verify-run.js';

export default class Inspect extends AirgapCommand {
  static override summary = 'List what a bundle holds (works without a key; checks nothing).';
  static override description = `Prints the bundle facts from bundle.json and every artifact of its index: kind, name, version, platform, size and digest. It does not verify anything: use airgap verify for that.

Exit codes: one table for every command, docs/exit-codes.md (0 ok, 1 runtime, 2 usage or config, 3 integrity or trust).`;
  static override examples = [
    '<%= config.bin %> inspect ./platform-base-20261124T101500Z',
    '<%= config.bin %> inspect ./platform-base-20261124T101500Z --json | jq ".artifacts[].name"',
  ];
  static override args = { bundle: Args.string({ description: 'bundle directory', required: true }) };

  async run() {
    const { args } = await this.parse(Inspect);
    this.makeReporter(this.jsonEnabled());
    const dir = resolve(args.bundle);
    await checkBundleDir(dir);
    const descriptor = await readBundleDescriptor(dir);
    const index = await readIndexUnverified(dir);
    const artifacts = index.artifacts.map((a) => ({
      kind: a.kind, name: a.name, version: a.version, platform: a.platform ?? null, size: artifactSize(a), digest: a.digest, upstream: a.upstream.url, verified: a.upstream.verified,
    }));
    this.log(`bundle   ${descriptor.name}\ncreated  ${descriptor.created}\ntool     ${descriptor.tool}\nsigner   ${descriptor.signer}\nparts    ${descriptor.parts.length}\ntotals   ${descriptor.totals.artifacts} artifacts, ${descriptor.totals.blobs} blobs, ${formatSize(descriptor.totals.bytes)}\nbase     ${describeBase(descriptor.base)}${descriptor.incomplete ? `\nINCOMPLETE ${JSON.stringify(descriptor.incomplete)}` : ''}\n(unverified: run airgap verify to check it)\n`);
    const rows = artifacts.map((a) => [a.kind, a.name, a.version, a.platform ?? '', formatSize(a.size), a.digest.slice(0, 19)]);
    const head = ['KIND', 'NAME', 'VERSION', 'PLATFORM', 'SIZE', 'DIGEST'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const r of [head, ...rows]) this.log(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
    return { bundle: dir, descriptor, verified: false, artifacts };
  }
}

/** `base` of bundle.json in words: `incremental (--since): 12 artifacts already inside per the receipt of … (target nexus, ledger line 42, sha256 ab12…)`. */
export function describeBase(base: unknown): string {
  if (base === null || base === undefined) return '(full bundle)';
  const b = base as { receipt?: { created?: unknown; target?: unknown; ledger?: { seq?: unknown; sha256?: unknown } | null }; artifacts?: unknown };
  if (typeof b.receipt !== 'object' || b.receipt === null) return JSON.stringify(base);
  const r = b.receipt;
  const ledger = r.ledger ? `, ledger line ${String(r.ledger.seq)}, sha256 ${String(r.ledger.sha256).slice(0, 12)}…` : '';
  return `incremental (--since): ${String(b.artifacts ?? 0)} artifacts already inside per the receipt of ${String(r.created)} (target ${r.target ? String(r.target) : 'every target'}${ledger})`;
}
