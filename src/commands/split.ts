import { Args, Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { MEDIA_CHUNK_SIZES, UsageError, parseSize } from '@airgap/core';
import { parseRecoveryPercent, readSecretKey, splitBundle } from '@airgap/bundle';
import { AirgapCommand } from '../base-command.js';
import { passphraseSource } from '../passphrase.js';
import { trustedKeys } from '../trust.js';
import { toolVersion } from '../version.js';
import { checkBundleDir } from '../verify-run.js';

export interface SplitResult {
  bundle: string;
  from: string;
  parts: number;
  recoveryFiles: number;
  index: string;
}

export default class Split extends AirgapCommand {
  static override summary = 'Cut a bundle into parts of another size, without the network.';
  static override description = `Writes OUT/<name>-<stamp>/: the same bundle stream (same airgap-index.json, same index digest, same content) cut at --chunk-size, with new PAR2 recovery files if --recovery is given, and a new bundle.json signed with --key (default: signingKey from the config); bundle.json records the bundle.json it was cut from. The source is verified first (its signer must be trusted: --pub, else trust: in the config), so split never re-signs bytes it has not checked. Use it to move a bundle from one medium to another (a 4 GiB USB stick to DVDs), or to add recovery data (docs/transfer.md).

Exit codes (docs/exit-codes.md): 0 written, 2 usage (bad size, no key), 3 the source failed verification.`;
  static override examples = [
    '<%= config.bin %> split /media/usb/platform-base-20261124T101500Z --chunk-size 4.7GB --out /srv/dvd --key keys/outside.key --pub keys/outside.pub',
    '<%= config.bin %> split ./platform-base-20261124T101500Z --media dvd --recovery 10% --out dvd --key keys/outside.key',
  ];
  static override args = { bundle: Args.string({ description: 'bundle directory to cut again', required: true }) };
  static override flags = {
    out: Flags.string({ char: 'o', description: 'folder the new bundle directory is created in', required: true }),
    'chunk-size': Flags.string({ description: 'largest part size: 512MiB, 1GiB, 4.7GB or bytes', exclusive: ['media'] }),
    media: Flags.string({ description: 'set the chunk size for a medium: fat32, dvd, bd25', options: Object.keys(MEDIA_CHUNK_SIZES) }),
    key: Flags.string({ description: 'secret key to sign the new bundle.json (default: signingKey from the config)' }),
    recovery: Flags.string({ description: 'PAR2 recovery files worth PERCENT of the new parts (e.g. 10%)' }),
    pub: Flags.string({ description: 'trusted public key for the source bundle (repeatable; default: trust from the config)', multiple: true, multipleNonGreedy: true }),
  };

  async run(): Promise<SplitResult> {
    const { args, flags } = await this.parse(Split);
    const reporter = this.makeReporter(this.jsonEnabled());
    const config = await this.loadAirgapConfig(flags.config);
    if (!flags.media && !flags['chunk-size']) throw new UsageError('split needs --chunk-size SIZE or --media fat32|dvd|bd25', { subject: '--chunk-size' });
    const chunkSize = flags.media ? MEDIA_CHUNK_SIZES[flags.media] : parseSize(flags['chunk-size']!, '--chunk-size');
    const keyPath = flags.key ?? config.signingKey;
    if (!keyPath) throw new UsageError('no signing key: pass --key FILE or set signingKey in the config', { subject: '--key' });
    const key = await readSecretKey(resolve(keyPath), { passphrase: passphraseSource() });
    const recovery = flags.recovery === undefined ? undefined : parseRecoveryPercent(flags.recovery);
    const trust = await trustedKeys(flags.pub, config);
    if (trust.length === 0) throw new UsageError('no trusted public key to verify the source bundle with', { hint: 'pass --pub FILE or list it under trust: in the config' });
    await checkBundleDir(resolve(args.bundle));
    const r = await reporter.phase('Verifying and cutting the bundle', () =>
      splitBundle(resolve(args.bundle), { trust, outDir: resolve(flags.out), chunkSize, key, recovery, toolVersion, onBytes: (n) => reporter.progress({ type: 'bytes', bytes: n }) }),
    );
    this.log(r.dir);
    return { bundle: r.dir, from: r.source, parts: r.descriptor.parts.length, recoveryFiles: r.descriptor.recovery?.files.length ?? 0, index: `sha256:${r.descriptor.index.sha256}` };
  }
}
