import { Args, Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { UsageError } from '@airgap/core';
import { repairBundle } from '@airgap/bundle';
import { AirgapCommand } from '../base-command.js';
import { trustedKeys } from '../trust.js';
import { checkBundleDir, verifyWithTrust } from '../verify-run.js';

export interface RepairCommandResult {
  bundle: string;
  /** Parts rebuilt from the recovery data (empty when nothing was damaged). */
  repaired: string[];
  /** Blocks rebuilt, and recovery blocks that were intact. */
  blocks: { rebuilt: number; available: number } | null;
  verified: true;
}

export default class Repair extends AirgapCommand {
  static override summary = 'Rebuild missing or corrupt parts from the bundle\'s PAR2 recovery files.';
  static override description = `For a bundle packed with --recovery (docs/transfer.md). Checks bundle.json's signature first (--pub, else trust: in the config), then which parts are missing or damaged and which PAR2 files match bundle.json (only those are used), rebuilds the damaged parts with par2 in a private folder inside the bundle, and renames each rebuilt part into place only when its sha256 matches bundle.json. Then verifies the whole bundle, as airgap verify does.

Exit codes (docs/exit-codes.md): 0 repaired (or nothing to repair) and verified, 2 usage (par2 not installed, no trusted key), 3 beyond the recovery capacity, no recovery data, or a trust failure: the message names each damaged part and how much recovery data is missing; the bundle is left as it was.`;
  static override examples = [
    '<%= config.bin %> repair /srv/inbox/platform-base-20261124T101500Z --pub keys/outside.pub',
    '<%= config.bin %> repair ./platform-base-20261124T101500Z --json   # {bundle, repaired, blocks, verified}',
  ];
  static override args = { bundle: Args.string({ description: 'bundle directory', required: true }) };
  static override flags = {
    pub: Flags.string({ description: 'trusted public key (repeatable; default: trust from the config)', multiple: true, multipleNonGreedy: true }),
  };

  async run(): Promise<RepairCommandResult> {
    const { args, flags } = await this.parse(Repair);
    const reporter = this.makeReporter(this.jsonEnabled());
    const config = await this.loadAirgapConfig(flags.config);
    const trust = await trustedKeys(flags.pub, config);
    if (trust.length === 0) {
      throw new UsageError('no trusted public key: repair trusts the recovery files only through the signed bundle.json', { hint: 'pass --pub FILE (the outside key\'s .pub) or list it under trust: in the config' });
    }
    const dir = resolve(args.bundle);
    await checkBundleDir(dir);
    const r = await reporter.phase('Rebuilding damaged parts', () => repairBundle(dir, { trust }));
    if (r.repaired.length) reporter.info(`rebuilt ${r.repaired.join(', ')}`);
    const v = await verifyWithTrust(dir, trust, false, reporter);
    const rec = r.before.recovery;
    this.log(r.repaired.length ? `repaired ${r.repaired.join(', ')} and verified ${v.descriptor.name} (${v.descriptor.created})` : `nothing to repair: ${v.descriptor.name} (${v.descriptor.created}) verified`);
    return { bundle: dir, repaired: r.repaired, blocks: rec && r.repaired.length ? { rebuilt: rec.needed, available: rec.available } : null, verified: true };
  }
}
