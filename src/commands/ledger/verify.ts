import { Args, Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { IntegrityError } from '@airgap/core';
import { type LedgerVerification, describeIntents, headPath, readReceipt, verifyLedger } from '@airgap/ledger';
import { AirgapCommand } from '../../base-command.js';

export default class LedgerVerify extends AirgapCommand {
  static override summary = 'Check the import ledger\'s hash chain; name the first bad line.';
  static override description = `Reads every line of the ledger and checks that it is a record, that seq counts up by one from 1 and that prev is the sha256 of the line before. An edited, deleted, inserted or reordered line breaks this; the first line where it breaks is named (exit 3). A last line cut short by a crash (no newline, or not JSON) is reported as torn (exit 3); the next unpack truncates it, keeping its bytes aside.

A chain alone cannot show that its newest lines were changed or cut off. The head anchor <ledger>.head (seq and sha256 of the last record, rewritten after every append) can: a ledger shorter than its head is exit 3, naming how many records are missing (unpack refuses it too, unless --repair-ledger). --anchor RECEIPT checks that the ledger still holds, unchanged, the last line a receipt was made from (receipts leave the network with pack --since; keep a copy).

Intent records without a result (a run killed while it sent an artifact) are reported, with whether a later run found or pushed the artifact at the target; they are not a fault (exit 0).

Exit codes (docs/exit-codes.md): 0 intact, 2 no such file, 3 broken, torn, shorter than its head, or the anchor does not hold.`;
  static override examples = [
    '<%= config.bin %> ledger verify /var/lib/airgap/ledger.jsonl',
    '<%= config.bin %> ledger verify   # the ledger named by ledger: in the config',
    '<%= config.bin %> ledger verify /var/lib/airgap/ledger.jsonl --anchor receipt-2026-11-24.json',
    '<%= config.bin %> ledger verify ledger.jsonl --json',
  ];
  static override args = { file: Args.string({ description: 'ledger file (JSON Lines); default: ledger: from the config, else ./airgap-ledger.jsonl', required: false }) };
  static override flags = {
    anchor: Flags.string({ description: 'a receipt made from this ledger earlier: its last line must still be there, unchanged' }),
  };

  async run(): Promise<LedgerVerification> {
    const { args, flags } = await this.parse(LedgerVerify);
    this.monitored = { command: 'ledger_verify', outcome: {} };
    const reporter = this.makeReporter(this.jsonEnabled());
    const file = await this.ledgerFile(args.file, flags.config);
    const anchor = flags.anchor ? (await readReceipt(resolve(flags.anchor))).ledger ?? undefined : undefined;
    const v = await verifyLedger(file, anchor);
    this.monitored.outcome = { ledgerOk: v.ok };
    if (v.fault) {
      throw new IntegrityError(`ledger ${file} line ${v.fault.line}: ${v.fault.reason}`, {
        subject: `${file}:${v.fault.line}`,
        hint: 'the ledger was changed after it was written; keep this copy for the audit and compare it with backups or receipts',
      });
    }
    if (v.torn) {
      throw new IntegrityError(`ledger ${file} line ${v.torn.line} is torn: ${v.torn.reason}; the ${v.records} lines before it are intact`, {
        subject: `${file}:${v.torn.line}`,
        hint: 'an unpack was killed while writing it; the next unpack truncates it (or remove that last line yourself)',
      });
    }
    if (v.head && !v.head.ok) {
      throw new IntegrityError(`ledger ${file}: ${v.head.reason}`, {
        subject: file,
        hint: `records were cut off or rewritten after they were written: keep this copy and ${headPath(file)} for the audit, restore the ledger from a backup (unpack --repair-ledger goes on without them, recorded)`,
      });
    }
    if (v.anchor && !v.anchor.ok) {
      throw new IntegrityError(`ledger ${file}: ${v.anchor.reason}`, { subject: file, hint: 'the ledger was rewritten or cut short after the receipt was made' });
    }
    if (v.intents.count) reporter.warn(`ledger ${file}: ${describeIntents(v.intents)}`);
    const head = v.head ? `; head seq ${v.head.head?.seq} holds` : `; no head anchor ${headPath(file)}`;
    this.log(`ledger ${file}: ${v.records} records, chain intact${v.last ? `; last seq ${v.last.seq}, sha256 ${v.last.sha256}` : ''}${head}${v.anchor ? `; anchor seq ${v.anchor.seq} holds` : ''}${v.intents.count ? `; ${v.intents.count} interrupted sends (${v.intents.unsettled} unsettled)` : ''}`);
    return v;
  }
}
