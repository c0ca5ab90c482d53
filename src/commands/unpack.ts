import { Args, Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { AirgapCommand } from '../base-command.js';
import { parseInterval, progressIntervalFlag } from '../progress.js';
import { failureNotice, notifyRun, unpackNotice } from '../notify.js';
import { trustedKeys } from '../trust.js';
import { type UnpackResult, unpack } from '../unpack.js';

export default class Unpack extends AirgapCommand {
  static override summary = 'Verify a bundle, then publish everything in it to Nexus or a directory mirror.';
  static override description = `Verifies the bundle first, exactly as airgap verify does; nothing is published from a bundle that fails. Then, for every artifact, asks the target whether it is already there (recorded as "present", nothing sent) or publishes it ("pushed"). One failed artifact does not stop the others. Every action is appended to the import ledger (--ledger, else ledger: in the config, else ./airgap-ledger.jsonl).

TARGET is a target name from the config (targets:) or dir:PATH for a plain directory mirror. A target of type: route sends each kind to another configured target in the same run, with one ledger (docs/config.md); --only / --exclude pick kinds. A kind that the target cannot take is refused (exit 2) before a single part is read.
Exit codes (docs/exit-codes.md): 0 ok, 1 target failure (or another unpack holds the ledger lock, or the target lacks what an incremental bundle builds on), 2 usage/config (no such bundle directory, no trusted key, a kind the target cannot take), 3 integrity or trust failure (also: a bundle older than the newest of its name the ledger records for this target, unless --allow-older; a ledger shorter than its head anchor <ledger>.head, unless --repair-ledger), 4 some artifacts failed. Exit 1 also when another unpack (with another ledger) is publishing into the same dir: mirror (<mirror>/.airgap-lock).

Before each push an intent record goes into the ledger, so a run killed mid-push leaves a visible trace (airgap ledger verify reports it).

Safe to re-run: a killed unpack, run again, records what is already there as present and pushes the rest. With --json, one summary document: counts (per action and per kind), bytes, durationMs, failures. After each run (ok or not) a short summary goes to the notify: channels of the config.`;
  static override examples = [
    '<%= config.bin %> unpack /media/usb/platform-base-20261124T101500Z --to nexus --progress-interval 1m   # without a terminal: a heartbeat line (MiB, percent, ETA) every minute',
    '<%= config.bin %> unpack /media/usb/platform-base-20261124T101500Z --to dir:/srv/mirror --pub keys/outside.pub',
    '<%= config.bin %> unpack ./platform-base-20261124T101500Z --to nexus --ledger /var/lib/airgap/ledger.jsonl',
    '<%= config.bin %> unpack ./platform-base-20261124T101500Z --to nexus --dry-run',
    '<%= config.bin %> unpack ./platform-base-20261124T101500Z --to inside   # inside: {type: route, routes: {images: harbor, npm: verdaccio, default: mirror}}',
    '<%= config.bin %> unpack ./platform-base-20261124T101500Z --to harbor --only images',
    '<%= config.bin %> unpack ./platform-base-20261001T000000Z --to nexus --allow-older   # re-import an older bundle on purpose',
    '<%= config.bin %> unpack ./platform-base-20261124T101500Z --to nexus --repair-ledger   # the ledger lost records (restored from a backup): go on, recorded',
  ];
  static override args = { bundle: Args.string({ description: 'bundle directory', required: true }) };
  static override flags = {
    'progress-interval': progressIntervalFlag,
    to: Flags.string({ description: 'target name from the config, or dir:PATH', required: true }),
    pub: Flags.string({ description: 'trusted public key (repeatable; default: trust from the config)', multiple: true, multipleNonGreedy: true }),
    ledger: Flags.string({ description: 'import ledger file (default: ledger from the config, else ./airgap-ledger.jsonl)' }),
    'dry-run': Flags.boolean({ description: 'verify and report what would be pushed vs already present; publish nothing', default: false }),
    concurrency: Flags.integer({ description: 'artifacts published at once', default: 4, min: 1, max: 64 }),
    only: Flags.string({ description: 'publish only these kinds (images, charts, apt, yum, pypi, npm, files; comma-separated or repeated)', multiple: true, multipleNonGreedy: true, delimiter: ',' }),
    exclude: Flags.string({ description: 'leave these kinds out (comma-separated or repeated)', multiple: true, multipleNonGreedy: true, delimiter: ',' }),
    'allow-older': Flags.boolean({ description: 'accept a bundle older than the newest of its name in the ledger (recorded in the ledger)', default: false }),
    'repair-ledger': Flags.boolean({ description: 'go on with a ledger shorter than its head anchor (records cut off): recorded in the run\'s start record (docs/ledger.md)', default: false }),
    'insecure-skip-signature': Flags.boolean({ description: 'DANGEROUS: publish without checking the signature (recorded in the ledger)', default: false }),
  };

  async run(): Promise<UnpackResult> {
    const { args, flags } = await this.parse(Unpack);
    this.monitored = { command: 'unpack', outcome: {}, skip: flags['dry-run'] };
    const reporter = this.makeReporter(this.jsonEnabled());
    reporter.progressInterval = parseInterval(flags['progress-interval']);
    const config = await this.loadAirgapConfig(flags.config);
    const trust = flags['insecure-skip-signature'] ? [] : await trustedKeys(flags.pub, config);
    const http = this.httpClient(config);
    let result: UnpackResult;
    try {
      result = await unpack({
        bundleDir: resolve(args.bundle),
        to: flags.to,
        trust,
        insecureSkipSignature: flags['insecure-skip-signature'],
        ledgerPath: await this.ledgerFile(flags.ledger, flags.config),
        dryRun: flags['dry-run'],
        concurrency: flags.concurrency,
        allowOlder: flags['allow-older'],
        repairLedger: flags['repair-ledger'],
        only: flags.only,
        exclude: flags.exclude,
        config,
        http,
        reporter,
      });
    } catch (e) {
      if (!flags['dry-run']) await notifyRun(config, failureNotice('unpack', args.bundle, e), reporter);
      throw e;
    } finally {
      await http.close();
    }
    this.monitored.outcome = { bytes: result.bytes, artifacts: Object.values(result.counts).reduce((n, c) => n + c, 0), failed: result.failures.length };
    if (!result.dryRun) await notifyRun(config, unpackNotice(result), reporter);
    const counts = (result.dryRun ? dryRunCounts(result.counts) : Object.entries(result.counts).map(([k, v]) => `${v} ${k}`).join(', ')) || 'nothing to do';
    const routed = result.routes ? ` (${Object.entries(result.routes).map(([k, t]) => `${k} → ${t}`).join(', ')})` : '';
    this.log(`${result.dryRun ? 'dry run: ' : ''}${result.name} → ${result.target}${routed}: ${counts}${result.ledger ? `; ledger ${result.ledger}` : ''}`);
    if (result.failures.length) {
      if (!this.jsonEnabled()) this.logToStderr(`${result.failures.length} failed:\n${result.failures.map((f) => `  ${f.artifact}: ${f.error}`).join('\n')}`);
      process.exitCode = 4;
    }
    return result;
  }
}

/** A dry run's summary in the words of its lines: `would push 3, already present 1` (then failed, if any). */
function dryRunCounts(counts: Record<string, number>): string {
  const { 'would-push': send = 0, present = 0, ...rest } = counts;
  const parts = send || present ? [`would push ${send}`, `already present ${present}`] : [];
  return [...parts, ...Object.entries(rest).map(([k, v]) => `${v} ${k}`)].join(', ');
}
