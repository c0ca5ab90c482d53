import { Args, Flags } from '@oclif/core';
import { type LedgerRow, describeIntents, formatLedgerTable, parseSince, showLedger, verifyLedger } from '@airgap/ledger';
import { AirgapCommand } from '../../base-command.js';

export default class LedgerShow extends AirgapCommand {
  static override summary = 'Print the import ledger as a table.';
  static override description = `One row per record: time, action (pushed, present, failed, skipped; start and end for each unpack run; intent before each push, answered by the artifact's result row), kind, name, version, platform, target and bundle (name@created); failed rows also show the error. Use airgap ledger verify to check the chain; show only reads.

Exit codes: one table for every command, docs/exit-codes.md (0 ok, 1 runtime, 2 usage or config, 3 integrity or trust).`;
  static override examples = [
    '<%= config.bin %> ledger show /var/lib/airgap/ledger.jsonl',
    '<%= config.bin %> ledger show --since 2026-11-24   # the ledger named by ledger: in the config',
    '<%= config.bin %> ledger show ledger.jsonl --bundle platform-base --since 2026-11-01',
    '<%= config.bin %> ledger show ledger.jsonl --json | jq \'.rows[] | select(.action == "failed")\'',
  ];
  static override args = { file: Args.string({ description: 'ledger file (JSON Lines); default: ledger: from the config, else ./airgap-ledger.jsonl', required: false }) };
  static override flags = {
    bundle: Flags.string({ description: 'only records of bundles with this name' }),
    since: Flags.string({ description: 'only records at or after this time (2026-11-24 or 2026-11-24T10:00:00Z)' }),
  };

  async run(): Promise<{ ledger: string; rows: LedgerRow[] }> {
    const { args, flags } = await this.parse(LedgerShow);
    const reporter = this.makeReporter(this.jsonEnabled());
    const file = await this.ledgerFile(args.file, flags.config);
    const since = flags.since ? parseSince(flags.since) : undefined;
    const check = await verifyLedger(file);
    if (check.fault) reporter.warn(`ledger ${file} line ${check.fault.line}: ${check.fault.reason} (run airgap ledger verify)`);
    if (check.head && !check.head.ok) reporter.warn(`ledger ${file}: ${check.head.reason} (run airgap ledger verify)`);
    if (check.intents.count) reporter.warn(`ledger ${file}: ${describeIntents(check.intents)}`);
    const rows = await showLedger(file, { bundle: flags.bundle, since });
    this.log(rows.length ? formatLedgerTable(rows) : '(no records match)');
    return { ledger: file, rows };
  }
}
