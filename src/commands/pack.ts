import { Args, Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { MEDIA_CHUNK_SIZES, PartialError, UsageError, artifactCoordinates, formatSize, parseSize } from '@airgap/core';
import { failureNotice, notifyRun, packNotice } from '../notify.js';
import { parseRecoveryPercent, readSecretKey } from '@airgap/bundle';
import { AirgapCommand } from '../base-command.js';
import { parseInterval, progressIntervalFlag } from '../progress.js';
import { passphraseSource } from '../passphrase.js';
import { type PackResult, defaultCacheDir, pack } from '../pack.js';
import { toolVersion } from '../version.js';

/** The smallest `--chunk-size` pack takes (docs/transfer.md). */
const MIN_CHUNK_SIZE = 64 * 1024;

export default class Pack extends AirgapCommand {
  static override summary = 'Mirror what a manifest lists into a signed bundle split into parts.';
  static override description = `Resolves every manifest entry to exact artifacts (with their dependency closure), downloads them into the cache while verifying the upstream's own checksums and signatures, and writes the bundle directory OUT/<name>-<UTC yyyymmddThhmmssZ>/ with bundle.json, its minisign signature, SHA256SUMS and part-NNNNN files no larger than --chunk-size. Prints the bundle path.

The pack is atomic: if any artifact fails (and --keep-going is not given) no bundle directory is left.
Exit codes (one table for every ecosystem: docs/exit-codes.md): 0 ok, 1 network/upstream failure (5xx, timeout), 2 bad manifest or config, or the manifest's policy: refuses something (also: a name or version the upstream does not have, with the nearest it has), 3 integrity or trust failure upstream (a checksum, a pinned files sha256, a cosign signature, a chart's .prov), 4 --keep-going left something out.

The manifest's policy: (docs/manifest.md) is checked before anything is downloaded: registry and digest rules before the entry's first request, licence and size rules on the resolved metadata; every violation is named. --dry-run lists them all (and exits 2 when there are any). Every bundle carries a CycloneDX SBOM (sbom.cdx.json, docs/approval.md).

--recovery PERCENT adds PAR2 recovery files (bundle.par2, bundle.volNN+MM.par2, each no larger than the chunk size) beside the parts, listed in the signed bundle.json and in SHA256SUMS: airgap repair (or Debian's par2) rebuilds lost or damaged parts up to that size; see docs/transfer.md. --media fat32|dvd|bd25 sets the chunk size for that medium.

--since RECEIPT makes an incremental bundle: every artifact the receipt (airgap ledger receipt, made inside) lists as already inside is left out (not even downloaded); bundle.json records the receipt as base. Two packs into the same --out cannot run at once: the second exits 1 naming the first one's pid. With --json, one summary document: {bundle, parts, artifacts, bytes, blobs, countsByKind, durationMs, base, skipped}. After each run (ok or not) a short summary goes to the notify: channels of the config.`;
  static override examples = [
    '<%= config.bin %> pack manifests/quickstart.yaml --out bundles --key keys/outside.key',
    '<%= config.bin %> pack platform.yaml --out /media/usb --chunk-size 4GiB',
    '<%= config.bin %> pack platform.yaml --out outbox --chunk-size 500MiB --recovery 10%   # one-way gateway: survives a lost part',
    '<%= config.bin %> pack platform.yaml --out /media/usb --media fat32   # parts of 4 GiB - 1 byte',
    '<%= config.bin %> pack platform.yaml --out bundles --dry-run',
    '<%= config.bin %> pack platform.yaml --out bundles --dry-run   # also lists what policy: would refuse (exit 2 if anything)',
    '<%= config.bin %> pack platform.yaml --out bundles --json   # {bundle, parts, artifacts, bytes, ...}',
    '<%= config.bin %> pack platform.yaml --out bundles --since receipt.json   # only what the inside lacks',
    '<%= config.bin %> pack platform.yaml --out bundles --include-tool   # carry airgap itself (npm run dist first)',
    '<%= config.bin %> pack platform.yaml --out bundles --progress-interval 5m 2>> pack.log   # cron: a heartbeat line (bytes, rate, ETA) every 5 minutes',
  ];
  static override args = { manifest: Args.string({ description: 'bundle manifest (YAML or JSON)', required: true }) };
  static override flags = {
    'progress-interval': progressIntervalFlag,
    out: Flags.string({ char: 'o', description: 'folder the bundle directory is created in', required: true }),
    key: Flags.string({ description: 'secret signing key (default: signingKey from the config)' }),
    'chunk-size': Flags.string({ description: 'largest part size: 512MiB, 1GiB, 4.7GB or bytes (default 1GiB)', exclusive: ['media'] }),
    media: Flags.string({ description: 'set the chunk size for a medium: fat32 (4 GiB - 1), dvd (4.7 GB), bd25 (25 GB)', options: Object.keys(MEDIA_CHUNK_SIZES) }),
    recovery: Flags.string({ description: 'PAR2 recovery files worth PERCENT of the parts (e.g. 10%): a lost or damaged part can be rebuilt with airgap repair or par2 (default: recovery from the config, else none)' }),
    since: Flags.string({ description: 'receipt from the inside (airgap ledger receipt): leave out what is already there' }),
    cache: Flags.string({ description: 'download cache folder (default: cache from the config, else ~/.cache/airgap)' }),
    concurrency: Flags.integer({ description: 'downloads at once', default: 4, min: 1, max: 64 }),
    'keep-going': Flags.boolean({ description: 'leave out artifacts that fail instead of stopping (exit 4; bundle.json records them)', default: false }),
    'dry-run': Flags.boolean({ description: 'resolve and print what would be packed; download nothing', default: false }),
    'include-tool': Flags.boolean({ description: "carry airgap's own single-executable release beside the parts (docs/release.md); manifest tool: true does the same", default: false }),
    'max-manifest-size': Flags.string({ description: 'largest manifest file accepted (refused at once, exit 2): 16MiB, 64MiB or bytes', default: '16MiB' }),
    'max-manifest-entries': Flags.integer({ description: 'most entries over all manifest sections (exit 2 above it)', default: 100_000, min: 1 }),
    'tool-release': Flags.string({ description: 'with --include-tool or manifest tool: true: the release executable to carry (default: this executable, or dist-release/ of this checkout)' }),
  };

  async run(): Promise<PackResult> {
    const { args, flags } = await this.parse(Pack);
    this.monitored = { command: 'pack', outcome: {}, skip: flags['dry-run'] };
    const reporter = this.makeReporter(this.jsonEnabled());
    reporter.progressInterval = parseInterval(flags['progress-interval']);
    const config = await this.loadAirgapConfig(flags.config);
    const chunkSize = flags.media ? MEDIA_CHUNK_SIZES[flags.media] : parseSize(flags['chunk-size'] ?? '1GiB', '--chunk-size');
    // A tiny chunk size would silently write a part per few bytes (tens of thousands of files): refuse it.
    if (chunkSize < MIN_CHUNK_SIZE) {
      throw new UsageError(`--chunk-size ${flags['chunk-size']} is ${formatSize(chunkSize)}, below the smallest part size of ${formatSize(MIN_CHUNK_SIZE)}`, {
        subject: '--chunk-size',
        hint: 'give a size such as 512MiB, 4GiB or --media fat32|dvd|bd25 (docs/transfer.md)',
      });
    }
    const recoveryText = flags.recovery ?? config.recovery;
    const recovery = recoveryText === undefined ? undefined : parseRecoveryPercent(recoveryText, flags.recovery === undefined ? 'config recovery' : '--recovery');
    const keyPath = flags.key ?? config.signingKey;
    if (!flags['dry-run'] && !keyPath) {
      throw new UsageError('no signing key: pass --key FILE or set signingKey in the config', { subject: '--key', hint: 'create one with: airgap keygen --out-dir keys --name outside' });
    }
    const key = flags['dry-run'] ? undefined : await readSecretKey(resolve(keyPath!), { passphrase: passphraseSource() });
    const http = this.httpClient(config);
    let result: PackResult;
    try {
      result = await pack({
        manifest: resolve(args.manifest),
        manifestLimits: { maxBytes: parseSize(flags['max-manifest-size'], '--max-manifest-size'), maxEntries: flags['max-manifest-entries'] },
        outDir: resolve(flags.out),
        key,
        chunkSize,
        recovery,
        cacheDir: resolve(flags.cache ?? defaultCacheDir(config)),
        concurrency: flags.concurrency,
        keepGoing: flags['keep-going'],
        dryRun: flags['dry-run'],
        since: flags.since ? resolve(flags.since) : undefined,
        config,
        http,
        reporter,
        toolVersion,
        includeTool: flags['include-tool'],
        toolRelease: flags['tool-release'] ? resolve(flags['tool-release']) : undefined,
      });
    } catch (e) {
      if (!flags['dry-run']) await notifyRun(config, failureNotice('pack', args.manifest, e), reporter);
      throw e;
    } finally {
      await http.close();
    }
    this.monitored.outcome = { bytes: result.bytes, artifacts: result.artifacts };
    if (!result.dryRun) await notifyRun(config, packNotice(result), reporter);
    if (result.dryRun) {
      for (const a of result.list ?? []) this.log(`${a.kind.padEnd(6)} ${artifactCoordinates(a)}${a.platform ? ` [${a.platform}]` : ''}  ${formatSize(a.size)}  ${a.upstream}`);
      this.log(`${result.artifacts} artifacts, ${formatSize(result.bytes)} (dry run: nothing downloaded or written)`);
      if (result.refused?.length) {
        if (!this.jsonEnabled()) this.logToStderr(`the manifest's policy would refuse ${result.refused.length}:\n${result.refused.map((r) => `  ${r}`).join('\n')}`);
        process.exitCode = new UsageError('policy').exitCode;
      }
    } else {
      this.log(result.bundle!);
    }
    if (result.skipped.length) {
      if (!this.jsonEnabled()) this.logToStderr(`${result.skipped.length} entries left out (--keep-going):\n${result.skipped.map((s) => `  ${s.entry}: ${s.error}`).join('\n')}`);
      process.exitCode = new PartialError('', result.skipped.map((s) => ({ artifact: s.entry, error: s.error }))).exitCode;
    }
    return result;
  }
}
