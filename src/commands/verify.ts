import { Args, Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { formatSize } from '@airgap/core';
import { AirgapCommand } from '../base-command.js';
import { parseInterval, progressIntervalFlag } from '../progress.js';
import { trustedKeys } from '../trust.js';
import { verifyWithTrust } from '../verify-run.js';

export interface VerifyResult {
  bundle: string;
  name: string;
  created: string;
  signer: string | null;
  parts: number;
  artifacts: number;
  blobs: number;
  bytes: number;
  verified: true;
}

export default class Verify extends AirgapCommand {
  static override summary = 'Prove a bundle is complete, untampered and signed by a trusted key.';
  static override description = `Checks, in this order and trusting nothing before it is checked: the minisign signature of bundle.json against the trusted keys (--pub, else trust: in the config), the size and SHA-256 of every part, the tar structure (no absolute paths, no .., no links), the index, and that every blob it lists is present with its size. The part hashes cover every blob's bytes; each blob's digest is checked again as unpack reads it (docs/security.md). Names each missing or corrupt part. Writes nothing.

Exit codes (docs/exit-codes.md): 0 verified, 2 usage (no such bundle directory, no trusted key configured), 3 integrity or trust failure.`;
  static override examples = [
    '<%= config.bin %> verify /media/usb/platform-base-20261124T101500Z --progress-interval 1m   # without a terminal: a heartbeat line (MiB, percent, ETA) every minute',
    '<%= config.bin %> verify /media/usb/platform-base-20261124T101500Z --pub keys/outside.pub',
    '<%= config.bin %> verify ./platform-base-20261124T101500Z --json',
  ];
  static override args = { bundle: Args.string({ description: 'bundle directory', required: true }) };
  static override flags = {
    'progress-interval': progressIntervalFlag,
    pub: Flags.string({ description: 'trusted public key (repeatable; default: trust from the config)', multiple: true, multipleNonGreedy: true }),
    'insecure-skip-signature': Flags.boolean({ description: 'DANGEROUS: do not check the signature (parts and blobs are still checked)', default: false }),
  };

  async run(): Promise<VerifyResult> {
    const { args, flags } = await this.parse(Verify);
    this.monitored = { command: 'verify', outcome: {} };
    const reporter = this.makeReporter(this.jsonEnabled());
    reporter.progressInterval = parseInterval(flags['progress-interval']);
    const config = await this.loadAirgapConfig(flags.config);
    const trust = flags['insecure-skip-signature'] ? [] : await trustedKeys(flags.pub, config);
    const b = await verifyWithTrust(resolve(args.bundle), trust, flags['insecure-skip-signature'], reporter);
    const result: VerifyResult = {
      bundle: b.dir,
      name: b.descriptor.name,
      created: b.descriptor.created,
      signer: b.signer,
      parts: b.descriptor.parts.length,
      artifacts: b.index.artifacts.length,
      blobs: b.index.blobs.length,
      bytes: b.descriptor.totals.bytes,
      verified: true,
    };
    this.monitored.outcome = { bytes: result.bytes, artifacts: result.artifacts };
    this.log(`verified ${result.name} (${result.created}): ${result.parts} parts, ${result.artifacts} artifacts, ${result.blobs} blobs, ${formatSize(result.bytes)}; signed by ${result.signer ?? 'NOBODY (signature not checked)'}`);
    return result;
  }
}
