import type { Artifact, BomFacts, BundleIndex } from '@airgap/core';
import { artifactSize } from '@airgap/core';
import { purlString } from '@airgap/sbom';

/** The bundle.json fields the report shows (docs/bundle-format.md); read from a verified or an unverified bundle. */
export interface ReportDescriptor {
  name: string;
  created: string;
  tool: string;
  signer: string;
  parts: { file: string; size: number; sha256: string }[];
  totals: { artifacts: number; blobs: number; bytes: number };
  base: unknown | null;
  incomplete?: unknown;
  sbom?: { entry: string; sha256: string; size: number; format?: string };
  recovery?: unknown;
}

export type Verification =
  | { verified: true; signer: string; by: string }
  | { verified: false; reason: string };

export interface ReportInput {
  dir: string;
  descriptor: ReportDescriptor;
  index: BundleIndex;
  verification: Verification;
  facts: (a: Artifact) => BomFacts;
  /** When the report was made (ISO 8601). */
  generated: string;
}

export interface ArtifactRow {
  kind: string;
  name: string;
  version: string;
  platform: string | null;
  size: number;
  digest: string;
  upstream: string;
  verified: string;
  licenses: string[];
  purl: string;
}

export interface KindSummary {
  kind: string;
  artifacts: number;
  bytes: number;
}

export interface RecoveryRow {
  file: string;
  size: number | null;
  sha256: string | null;
}

/** The approval report's content, one document for every format (docs/approval.md). */
export interface ApprovalReport {
  schema: 'airgap.approval/v1';
  generated: string;
  bundle: { dir: string; name: string; created: string; tool: string; signerClaimed: string };
  verification: Verification;
  totals: ReportDescriptor['totals'];
  parts: ReportDescriptor['parts'];
  sbom: ReportDescriptor['sbom'] | null;
  recovery: { summary: string; files: RecoveryRow[] } | null;
  incomplete: unknown | null;
  kinds: KindSummary[];
  artifacts: Record<string, ArtifactRow[]>;
  /** Incremental bundles: what this bundle changes against the receipt it builds on. */
  changes: {
    receipt: unknown;
    alreadyInside: number;
    added: ArtifactRow[];
    updated: { kind: string; name: string; platform: string | null; from: string; to: string }[];
  } | null;
}

/** Artifact kinds in the order the manifest lists its sections. */
export const KIND_ORDER = ['image', 'chart', 'apt', 'yum', 'pypi', 'npm', 'file'];

function kindRank(k: string): number {
  const i = KIND_ORDER.indexOf(k);
  return i < 0 ? KIND_ORDER.length : i;
}

function row(a: Artifact, facts: (a: Artifact) => BomFacts): ArtifactRow {
  const f = facts(a);
  return {
    kind: a.kind,
    name: a.name,
    version: a.version,
    platform: a.platform ?? null,
    size: artifactSize(a),
    digest: a.digest,
    upstream: a.upstream.url,
    verified: a.upstream.verified,
    licenses: f.licenses ?? [],
    purl: purlString(f.purl),
  };
}

function recoveryOf(r: unknown): ApprovalReport['recovery'] {
  if (!r || typeof r !== 'object') return null;
  const o = r as { format?: unknown; percent?: unknown; files?: unknown; recoveryBlocks?: unknown; sourceBlocks?: unknown };
  const files = Array.isArray(o.files)
    ? o.files.map((f: { file?: unknown; name?: unknown; size?: unknown; sha256?: unknown }) => ({
        file: String(f?.file ?? f?.name ?? '?'),
        size: typeof f?.size === 'number' ? f.size : null,
        sha256: typeof f?.sha256 === 'string' ? f.sha256 : null,
      }))
    : [];
  const bits = [
    typeof o.format === 'string' ? o.format.toUpperCase() : 'recovery data',
    typeof o.percent === 'number' ? `${o.percent}% redundancy` : '',
    typeof o.recoveryBlocks === 'number' && typeof o.sourceBlocks === 'number' ? `${o.recoveryBlocks} recovery blocks for ${o.sourceBlocks} source blocks` : '',
  ].filter(Boolean);
  return { summary: bits.join(', '), files };
}

/** Build the report from bundle.json and the index (verified, or plainly marked unverified). */
export function buildReport(input: ReportInput): ApprovalReport {
  const { descriptor: d, index } = input;
  const rows = index.artifacts.map((a) => row(a, input.facts));
  const grouped: Record<string, ArtifactRow[]> = {};
  for (const r of [...rows].sort((x, y) => kindRank(x.kind) - kindRank(y.kind) || x.name.localeCompare(y.name) || x.version.localeCompare(y.version))) {
    (grouped[r.kind] ??= []).push(r);
  }
  const kinds = Object.entries(grouped).map(([kind, list]) => ({ kind, artifacts: list.length, bytes: list.reduce((n, r) => n + r.size, 0) }));

  let changes: ApprovalReport['changes'] = null;
  if (index.base) {
    const key = (a: { kind: string; name: string; platform?: string | null }) => `${a.kind}\u0000${a.name}\u0000${a.platform ?? ''}`;
    const before = new Map<string, string[]>();
    for (const b of index.base) before.set(key(b), [...(before.get(key(b)) ?? []), b.version]);
    const added: ArtifactRow[] = [];
    const updated: NonNullable<ApprovalReport['changes']>['updated'] = [];
    for (const r of rows) {
      const had = before.get(key(r));
      if (!had) added.push(r);
      else if (!had.includes(r.version)) updated.push({ kind: r.kind, name: r.name, platform: r.platform, from: had.join(', '), to: r.version });
    }
    changes = { receipt: d.base, alreadyInside: index.base.length, added, updated };
  }

  return {
    schema: 'airgap.approval/v1',
    generated: input.generated,
    bundle: { dir: input.dir, name: d.name, created: d.created, tool: d.tool, signerClaimed: d.signer },
    verification: input.verification,
    totals: d.totals,
    parts: d.parts.map((p) => ({ file: p.file, size: p.size, sha256: p.sha256 })),
    sbom: d.sbom ?? null,
    recovery: recoveryOf(d.recovery),
    incomplete: d.incomplete ?? null,
    kinds,
    artifacts: grouped,
    changes,
  };
}
