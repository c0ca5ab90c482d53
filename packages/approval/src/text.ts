import { formatSize } from '@airgap/core';
import type { ApprovalReport, ArtifactRow } from './model.js';

/** Kind names as an officer reads them. */
export const KIND_TITLES: Record<string, string> = {
  image: 'Container images', chart: 'Helm charts', apt: 'Debian packages (apt)', yum: 'RPM packages (yum)',
  pypi: 'Python packages (PyPI)', npm: 'npm packages', file: 'Files',
};

export const kindTitle = (k: string): string => KIND_TITLES[k] ?? k;

/** The one sentence on trust that heads every form of the report. */
export function trustStatement(r: ApprovalReport): string {
  const v = r.verification;
  return v.verified
    ? `VERIFIED: bundle.json is signed by trusted key ${v.signer} (${v.by}); every part, the index and every blob were checked against it.`
    : `UNVERIFIED: ${v.reason} Nothing below is proven; bundle.json claims signer ${r.bundle.signerClaimed}. Run airgap report with --pub KEY (or trust: in the config) before approving.`;
}

export function licenseText(row: ArtifactRow): string {
  return row.licenses.length ? row.licenses.join('; ') : 'not stated';
}

export function versionText(row: ArtifactRow): string {
  return row.version || '—';
}

export function totalsText(r: ApprovalReport): string {
  return `${r.totals.artifacts} artifacts, ${r.totals.blobs} blobs, ${formatSize(r.totals.bytes)} (${r.totals.bytes} bytes) in ${r.parts.length} part${r.parts.length === 1 ? '' : 's'}`;
}
