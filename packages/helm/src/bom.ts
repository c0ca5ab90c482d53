import type { Artifact, BomFacts } from '@airgap/core';
import type { ChartMeta } from './source.js';

/**
 * purl of a chart from an HTTP repository: `pkg:helm/<name>@<version>?repository_url=<repo>` (purl has no
 * registered Helm type; this is the form scanners such as syft write). Licence: Artifact Hub's
 * `artifacthub.io/license` annotation in Chart.yaml, the only place a chart states one. Dependencies:
 * Chart.yaml `dependencies` names (docs/approval.md). OCI charts are image artifacts.
 */
export function chartBom(a: Artifact): BomFacts {
  const m = a.meta as unknown as Partial<ChartMeta> | undefined;
  const entry = (m?.entry ?? {}) as { annotations?: Record<string, unknown>; dependencies?: { name?: unknown }[]; home?: unknown };
  const license = entry.annotations?.['artifacthub.io/license'];
  const repo = m?.url ? m.url.replace(/\/[^/]*$/, '') : undefined;
  const deps = Array.isArray(entry.dependencies) ? entry.dependencies.map((d) => d?.name).filter((n): n is string => typeof n === 'string') : [];
  return {
    purl: { type: 'helm', name: a.name, version: a.version, ...(repo ? { qualifiers: { repository_url: repo } } : {}) },
    ...(typeof license === 'string' && license ? { licenses: [license] } : {}),
    ...(deps.length ? { dependsOn: deps } : {}),
    ...(typeof entry.home === 'string' ? { homepage: entry.home } : {}),
  };
}
