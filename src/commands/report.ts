import { Args, Flags } from '@oclif/core';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AirgapCommand } from '../base-command.js';
import { REPORT_FORMATS, type ReportFormat, approvalReport } from '../approval.js';
import { trustedKeys } from '../trust.js';

export default class Report extends AirgapCommand {
  static override summary = 'Approval report or SBOM of a bundle, for the person who approves the crossing.';
  static override description = `Describes a bundle for approval before it crosses (docs/approval.md): bundle name, created, signer key id, totals, every part with its sha256, recovery data, every artifact grouped by kind (name, version, platform, size, upstream URL, how it was verified, licence, purl), what changed since the receipt of an incremental bundle, and a chart of size by kind.

Formats: html (default; one self-contained file — inline CSS and SVG, no outside resource), md (Markdown), json (the same facts as data), cyclonedx (CycloneDX 1.6 JSON SBOM) and spdx (SPDX 2.3 JSON).

No key is needed. With --pub (or trust: in the config) the bundle is verified first — signature, every part, the index and every blob — and the report states the verified signer; a bundle that fails is refused (exit 3). Without a key nothing is checked and the report says UNVERIFIED at its top.

Exit codes (docs/exit-codes.md): 0 ok, 2 usage (no bundle there, bad flag), 3 the bundle fails verification.`;
  static override examples = [
    '<%= config.bin %> report /media/usb/platform-base-20261124T101500Z --pub keys/outside.pub --out approval.html',
    '<%= config.bin %> report ./platform-base-20261124T101500Z --format md --out approval.md',
    '<%= config.bin %> report ./platform-base-20261124T101500Z --pub keys/outside.pub --format cyclonedx --out sbom.cdx.json',
    '<%= config.bin %> report ./platform-base-20261124T101500Z --format spdx > sbom.spdx.json',
  ];
  static override args = { bundle: Args.string({ description: 'bundle directory', required: true }) };
  static override flags = {
    format: Flags.string({ char: 'f', description: 'report form', options: [...REPORT_FORMATS], default: 'html' }),
    out: Flags.string({ char: 'o', description: 'write the report to this file (default: standard output)' }),
    pub: Flags.string({ description: 'trusted public key: verify the bundle and state its signer (repeatable; default: trust from the config)', multiple: true, multipleNonGreedy: true }),
  };

  async run() {
    const { args, flags } = await this.parse(Report);
    const reporter = this.makeReporter(this.jsonEnabled());
    const config = await this.loadAirgapConfig(flags.config);
    const trust = await trustedKeys(flags.pub, config);
    const { report, text } = await approvalReport(resolve(args.bundle), flags.format as ReportFormat, trust, reporter);
    if (flags.out) {
      await writeFile(resolve(flags.out), text);
      if (!this.jsonEnabled()) this.logToStderr(`${flags.format} report of ${report.bundle.name} (${report.verification.verified ? 'verified' : 'UNVERIFIED'}) written to ${resolve(flags.out)}`);
    } else if (!this.jsonEnabled()) {
      process.stdout.write(text);
    }
    return { ...report, out: flags.out ? resolve(flags.out) : null };
  }
}
