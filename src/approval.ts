import { readBundleDescriptor, readIndexUnverified } from '@airgap/bundle';
import type { PublicKey } from '@airgap/bundle';
import { type ApprovalReport, buildReport, renderHtml, renderMarkdown } from '@airgap/approval';
import { cyclonedxSbom, spdxSbom } from '@airgap/sbom';
import type { BundleIndex } from '@airgap/core';
import { ecosystems } from './ecosystems.js';
import type { Reporter } from './report.js';
import { verifyWithTrust } from './verify-run.js';

export const REPORT_FORMATS = ['html', 'md', 'json', 'cyclonedx', 'spdx'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ApprovalOutput {
  report: ApprovalReport;
  text: string;
}

/**
 * `airgap report`: the approval report of a bundle (docs/approval.md). With trusted keys the bundle is
 * verified first (signature, parts, index, every blob) and only the verified bundle.json and index are
 * used; a failed check is the command's error (exit 3). Without keys nothing is checked and every form
 * says so in its first line.
 */
export async function approvalReport(dir: string, format: ReportFormat, trust: PublicKey[], reporter: Reporter, now = new Date()): Promise<ApprovalOutput> {
  let index: BundleIndex;
  let report: ApprovalReport;
  const generated = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const facts = (a: Parameters<typeof ecosystems.facts>[0]) => ecosystems.facts(a);
  if (trust.length) {
    const b = await verifyWithTrust(dir, trust, false, reporter);
    index = b.index;
    await ecosystems.load({ kinds: index.artifacts.map((a) => a.kind) });
    const key = trust.find((k) => k.keyId === b.signer);
    report = buildReport({
      dir, descriptor: b.descriptor, index, facts, generated,
      verification: { verified: true, signer: b.signer!, by: `minisign signature of bundle.json checked with ${key?.file ?? 'a trusted key'}` },
    });
  } else {
    reporter.warn('no trusted key (--pub or trust: in the config): the report is of an UNVERIFIED bundle');
    const descriptor = await readBundleDescriptor(dir);
    index = await readIndexUnverified(dir);
    await ecosystems.load({ kinds: index.artifacts.map((a) => a.kind) });
    report = buildReport({
      dir, descriptor, index, facts, generated,
      verification: { verified: false, reason: 'no trusted key was given, so neither the signature nor any checksum was checked.' },
    });
  }
  const sbomInput = { index, tool: report.bundle.tool, facts };
  const text =
    format === 'html' ? renderHtml(report)
    : format === 'md' ? renderMarkdown(report)
    : format === 'cyclonedx' ? cyclonedxSbom(sbomInput)
    : format === 'spdx' ? spdxSbom(sbomInput)
    : JSON.stringify(report, null, 2) + '\n';
  return { report, text };
}
