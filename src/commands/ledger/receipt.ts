import { Args, Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { writeFileAtomic } from '@airgap/core';
import { makeReceipt } from '@airgap/ledger';
import { AirgapCommand } from '../../base-command.js';

export interface ReceiptResult {
  receipt: string;
  ledger: { seq: number; sha256: string } | null;
  target: string | null;
  artifacts: number;
  digests: number;
  bundles: Record<string, { created: string; sha256: string }>;
}

export default class LedgerReceipt extends AirgapCommand {
  static override summary = 'Write the receipt that pack --since reads: what is already inside.';
  static override description = `Lists every artifact the ledger records as pushed or present (per kind: its coordinates, its digest and the digests of its blobs) and the newest bundle of each name, anchored to the ledger's last line. Carry it outside; airgap pack MANIFEST --since receipt.json then packs only what the inside lacks. A ledger that fails airgap ledger verify makes no receipt (exit 3).

The receipt lists digests and names only (no credentials, no content).

Exit codes: one table for every command, docs/exit-codes.md (0 ok, 1 runtime, 2 usage or config, 3 integrity or trust).`;
  static override examples = [
    '<%= config.bin %> ledger receipt /var/lib/airgap/ledger.jsonl --out /media/usb/receipt.json',
    '<%= config.bin %> ledger receipt --out /media/usb/receipt.json   # the ledger named by ledger: in the config',
    '<%= config.bin %> ledger receipt ledger.jsonl --out receipt.json --target nexus',
  ];
  static override args = { file: Args.string({ description: 'ledger file (JSON Lines); default: ledger: from the config, else ./airgap-ledger.jsonl', required: false }) };
  static override flags = {
    out: Flags.string({ char: 'o', description: 'receipt file to write', required: true }),
    target: Flags.string({ description: 'only what was published to this target (default: every target in the ledger)' }),
  };

  async run(): Promise<ReceiptResult> {
    const { args, flags } = await this.parse(LedgerReceipt);
    const reporter = this.makeReporter(this.jsonEnabled());
    const receipt = await makeReceipt(await this.ledgerFile(args.file, flags.config), { target: flags.target, log: reporter });
    const out = resolve(flags.out);
    await writeFileAtomic(out, JSON.stringify(receipt, null, 2) + '\n');
    const artifacts = Object.values(receipt.artifacts).reduce((n, l) => n + l.length, 0);
    const digests = Object.values(receipt.digests).reduce((n, l) => n + l.length, 0);
    this.log(`receipt ${out}: ${artifacts} artifacts, ${digests} digests, ${Object.keys(receipt.bundles).length} bundle names${receipt.ledger ? `; ledger seq ${receipt.ledger.seq}` : ' (empty ledger)'}`);
    return { receipt: out, ledger: receipt.ledger, target: receipt.target, artifacts, digests, bundles: receipt.bundles };
  }
}
