import { formatSize } from '@airgap/core';
import type { ApprovalReport, ArtifactRow, KindSummary } from './model.js';
import { kindTitle, licenseText, totalsText, trustStatement, versionText } from './text.js';

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

// Everything inline: the officer may open the file on a machine with no network (docs/approval.md).
const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}th,td{border:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.num,th.num{text-align:right;white-space:nowrap}code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px;word-break:break-all}
.banner{padding:10px 14px;border-radius:6px;font-weight:600;margin:12px 0}.ok{background:#dafbe1;border:1px solid #1a7f37}.bad{background:#ffebe9;border:1px solid #cf222e}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:8px 0}dt{font-weight:600}dd{margin:0}
.muted{color:#57606a}svg text{font:12px system-ui,"DejaVu Sans",sans-serif}
@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}
`;

const COLORS = ['#0969da', '#8250df', '#1a7f37', '#bf3989', '#9a6700', '#cf222e', '#57606a'];

/** Size by kind as horizontal bars, an inline SVG (no script, no outside font or image). */
export function sizeChart(kinds: KindSummary[]): string {
  const max = Math.max(1, ...kinds.map((k) => k.bytes));
  const rowH = 26;
  const labelW = 200;
  const barW = 420;
  const h = kinds.length * rowH + 10;
  const bars = kinds.map((k, i) => {
    const w = Math.max(2, Math.round((k.bytes / max) * barW));
    const y = 5 + i * rowH;
    return `<text x="0" y="${y + 16}">${esc(kindTitle(k.kind))}</text>`
      + `<rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 8}" fill="${COLORS[i % COLORS.length]}"><title>${esc(`${k.kind}: ${k.bytes} bytes`)}</title></rect>`
      + `<text x="${labelW + w + 6}" y="${y + 16}">${esc(`${formatSize(k.bytes)} · ${k.artifacts}`)}</text>`;
  });
  return `<svg role="img" aria-label="size by kind" width="${labelW + barW + 140}" height="${h}" viewBox="0 0 ${labelW + barW + 140} ${h}">${bars.join('')}</svg>`;
}

function table(head: string[], rows: string[][], numeric: number[] = [], id?: string): string {
  const th = head.map((h, i) => `<th${numeric.includes(i) ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${id ? ` id="${esc(id)}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

function artifactTable(kind: string, rows: ArtifactRow[]): string {
  return table(
    ['Name', 'Version', 'Platform', 'Size', 'Upstream', 'How verified', 'Licence', 'purl / digest'],
    rows.map((r) => [
      esc(r.name), esc(versionText(r)), esc(r.platform ?? ''), esc(formatSize(r.size)),
      `<span class="mono">${esc(r.upstream)}</span>`, esc(r.verified), esc(licenseText(r)),
      `<span class="mono">${esc(r.purl)}<br>${esc(r.digest)}</span>`,
    ]),
    [3],
    `artifacts-${kind}`,
  );
}

/** The self-contained HTML approval report (docs/approval.md): one file, no outside resource. */
export function renderHtml(r: ApprovalReport): string {
  const v = r.verification;
  const parts = table(['Part', 'Size', 'sha256'], r.parts.map((p) => [esc(p.file), esc(formatSize(p.size)), `<code>${esc(p.sha256)}</code>`]), [1], 'parts');
  const sections: string[] = [];
  sections.push(`<h2>Parts</h2>${parts}`);
  if (r.sbom) sections.push(`<h2>SBOM</h2><p>${esc(r.sbom.format ?? 'CycloneDX JSON')} inside the signed bundle as <code>${esc(r.sbom.entry)}</code>, ${esc(r.sbom.size)} bytes, sha256 <code>${esc(r.sbom.sha256)}</code>.</p>`);
  if (r.recovery) {
    sections.push(`<h2>Recovery data</h2><p>${esc(r.recovery.summary)}</p>`
      + table(['File', 'Size', 'sha256'], r.recovery.files.map((f) => [esc(f.file), esc(f.size === null ? '' : formatSize(f.size)), `<code>${esc(f.sha256 ?? '')}</code>`]), [1], 'recovery'));
  }
  if (r.incomplete) sections.push(`<h2>Incomplete</h2><div class="banner bad">pack --keep-going left entries out:</div><pre>${esc(JSON.stringify(r.incomplete, null, 2))}</pre>`);
  if (r.changes) {
    const c = r.changes;
    sections.push(`<h2>Changes since the receipt</h2><p>Incremental bundle: ${esc(c.alreadyInside)} artifacts are already inside (per the receipt) and not carried. Receipt: <code>${esc(JSON.stringify(c.receipt))}</code></p>`
      + `<h3>Updated (${c.updated.length})</h3>` + table(['Kind', 'Name', 'Platform', 'Inside', 'This bundle'], c.updated.map((u) => [esc(u.kind), esc(u.name), esc(u.platform ?? ''), esc(u.from), esc(u.to)]), [], 'updated')
      + `<h3>New (${c.added.length})</h3>` + table(['Kind', 'Name', 'Version', 'Platform'], c.added.map((a) => [esc(a.kind), esc(a.name), esc(versionText(a)), esc(a.platform ?? '')]), [], 'added'));
  }
  sections.push(`<h2>Size by kind</h2>${sizeChart(r.kinds)}`
    + table(['Kind', 'Artifacts', 'Size'], r.kinds.map((k) => [esc(kindTitle(k.kind)), esc(k.artifacts), esc(formatSize(k.bytes))]), [1, 2], 'kinds'));
  for (const [kind, rows] of Object.entries(r.artifacts)) sections.push(`<h2>${esc(kindTitle(kind))} (${rows.length})</h2>${artifactTable(kind, rows)}`);

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Approval report: ${esc(r.bundle.name)} ${esc(r.bundle.created)}</title>
<style>${CSS}</style></head>
<body>
<h1>Approval report: bundle ${esc(r.bundle.name)}</h1>
<div class="muted">made by ${esc(r.bundle.tool)} · report generated ${esc(r.generated)}</div>
<div id="trust" class="banner ${v.verified ? 'ok' : 'bad'}">${esc(trustStatement(r))}</div>
<dl id="facts">
<dt>Bundle</dt><dd>${esc(r.bundle.name)}</dd>
<dt>Created</dt><dd>${esc(r.bundle.created)}</dd>
<dt>Signer key id</dt><dd><code>${esc(v.verified ? v.signer : r.bundle.signerClaimed)}</code>${v.verified ? ' (verified)' : ' (claimed, NOT verified)'}</dd>
<dt>Totals</dt><dd>${esc(totalsText(r))}</dd>
<dt>Directory</dt><dd><code>${esc(r.bundle.dir)}</code></dd>
</dl>
${sections.join('\n')}
</body></html>
`;
}
