import { formatSize } from '@airgap/core';
import type { ApprovalReport } from './model.js';
import { kindTitle, licenseText, totalsText, trustStatement, versionText } from './text.js';

const cell = (s: unknown): string => String(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function table(head: string[], rows: unknown[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** The approval report as Markdown (docs/approval.md): the same facts as the HTML form, for a ticket or a wiki. */
export function renderMarkdown(r: ApprovalReport): string {
  const v = r.verification;
  const out: string[] = [
    `# Approval report: bundle ${r.bundle.name}`,
    '',
    `> **${trustStatement(r)}**`,
    '',
    `- Bundle: ${r.bundle.name}`,
    `- Created: ${r.bundle.created}`,
    `- Signer key id: \`${v.verified ? v.signer : r.bundle.signerClaimed}\` ${v.verified ? '(verified)' : '(claimed, NOT verified)'}`,
    `- Totals: ${totalsText(r)}`,
    `- Made by: ${r.bundle.tool}; report generated ${r.generated}`,
    '',
    '## Parts',
    '',
    table(['Part', 'Size', 'sha256'], r.parts.map((p) => [p.file, formatSize(p.size), `\`${p.sha256}\``])),
  ];
  if (r.sbom) out.push('', '## SBOM', '', `${r.sbom.format ?? 'CycloneDX JSON'} inside the signed bundle as \`${r.sbom.entry}\`, ${r.sbom.size} bytes, sha256 \`${r.sbom.sha256}\`.`);
  if (r.recovery) {
    out.push('', '## Recovery data', '', r.recovery.summary, '', table(['File', 'Size', 'sha256'], r.recovery.files.map((f) => [f.file, f.size === null ? '' : formatSize(f.size), f.sha256 ? `\`${f.sha256}\`` : ''])));
  }
  if (r.incomplete) out.push('', '## Incomplete', '', '`pack --keep-going` left entries out:', '', '```json', JSON.stringify(r.incomplete, null, 2), '```');
  if (r.changes) {
    const c = r.changes;
    out.push('', '## Changes since the receipt', '', `Incremental bundle: ${c.alreadyInside} artifacts are already inside (per the receipt) and not carried.`);
    out.push('', `### Updated (${c.updated.length})`, '', table(['Kind', 'Name', 'Platform', 'Inside', 'This bundle'], c.updated.map((u) => [u.kind, u.name, u.platform ?? '', u.from, u.to])));
    out.push('', `### New (${c.added.length})`, '', table(['Kind', 'Name', 'Version', 'Platform'], c.added.map((a) => [a.kind, a.name, versionText(a), a.platform ?? ''])));
  }
  out.push('', '## Size by kind', '', table(['Kind', 'Artifacts', 'Size'], r.kinds.map((k) => [kindTitle(k.kind), k.artifacts, formatSize(k.bytes)])));
  for (const [kind, rows] of Object.entries(r.artifacts)) {
    out.push('', `## ${kindTitle(kind)} (${rows.length})`, '', table(
      ['Name', 'Version', 'Platform', 'Size', 'Upstream', 'How verified', 'Licence', 'purl', 'Digest'],
      rows.map((a) => [a.name, versionText(a), a.platform ?? '', formatSize(a.size), a.upstream, a.verified, licenseText(a), `\`${a.purl}\``, `\`${a.digest}\``]),
    ));
  }
  return out.join('\n') + '\n';
}
