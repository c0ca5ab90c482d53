import { parse as parseYaml } from 'yaml';
import { UpstreamError } from '@airgap/core';
import type { ChartFiles } from './chart-archive.js';

/** An image a chart declares, with every place it was found (`web/values.yaml: image`). */
export interface FoundImage {
  ref: string;
  from: string[];
}

const ANNOTATION = 'artifacthub.io/images';

/**
 * The images a chart and its subcharts declare:
 * - Chart.yaml `annotations["artifacthub.io/images"]` (Artifact Hub's list of `{name, image}`);
 * - values.yaml blocks `{registry?, repository, tag?, digest?}` (any key path: `image`, `controller.image`,
 *   `sidecars.proxy`…) and string values of keys named `image`/`*Image` that look like a reference.
 * A block without a tag takes the chart's appVersion, as `{{ .Values.image.tag | default .Chart.AppVersion }}`
 * (the convention of `helm create`) does. Values holding templates (`{{`) cannot be known before install
 * and are skipped with a warning.
 */
export function chartImages(charts: ChartFiles[], warn: (msg: string) => void): FoundImage[] {
  const found = new Map<string, FoundImage>();
  const add = (ref: string, from: string) => {
    const f = found.get(ref);
    if (f) {
      if (!f.from.includes(from)) f.from.push(from);
    } else found.set(ref, { ref, from: [from] });
  };
  for (const chart of charts) {
    const meta = parseDoc(chart.chartYaml ?? '', `${chart.at}/Chart.yaml`) as { appVersion?: unknown; annotations?: Record<string, unknown> } | null;
    const appVersion = meta?.appVersion === undefined || meta.appVersion === null ? undefined : String(meta.appVersion);
    const annotation = meta?.annotations?.[ANNOTATION];
    if (typeof annotation === 'string') {
      const list = parseDoc(annotation, `${chart.at}/Chart.yaml: annotations.${ANNOTATION}`);
      if (Array.isArray(list)) {
        for (const item of list) {
          const image = (item as { image?: unknown } | null)?.image;
          if (typeof image === 'string' && image.trim()) add(image.trim(), `${chart.at}/Chart.yaml: annotations.${ANNOTATION}`);
        }
      }
    }
    if (chart.valuesYaml !== undefined) {
      const values = parseDoc(chart.valuesYaml, `${chart.at}/values.yaml`);
      walkValues(values, '', (ref, path) => add(ref, `${chart.at}/values.yaml: ${path}`), appVersion, (path, why) => warn(`${chart.at}/values.yaml: ${path}: ${why}`));
    }
  }
  return [...found.values()];
}

function parseDoc(text: string, label: string): unknown {
  try {
    return parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new UpstreamError(`${label}: not valid YAML: ${(e as Error).message.split('\n')[0]}`, { subject: label, cause: e });
  }
}

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function walkValues(node: unknown, path: string, add: (ref: string, path: string) => void, appVersion: string | undefined, skip: (path: string, why: string) => void): void {
  if (Array.isArray(node)) {
    node.forEach((v, i) => walkValues(v, `${path}[${i}]`, add, appVersion, skip));
    return;
  }
  if (!node || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  const repository = scalar(obj.repository);
  const key = path.split('.').pop() ?? '';
  const imageLike = 'tag' in obj || 'digest' in obj || 'registry' in obj || /image$/i.test(key);
  if (repository && imageLike && looksLikeRepository(repository)) {
    const registry = scalar(obj.registry);
    const tag = scalar(obj.tag) ?? appVersion;
    const digest = scalar(obj.digest);
    const ref = `${registry ? registry.replace(/\/+$/, '') + '/' : ''}${repository}${tag ? ':' + tag : ''}${digest ? '@' + digest : ''}`;
    if (ref.includes('{{')) skip(path, `image ${ref} is a template; add the image with extraImages`);
    else add(ref, path || '(top level)');
  }
  for (const [k, v] of Object.entries(obj)) {
    const at = path ? `${path}.${k}` : k;
    if (typeof v === 'string' && /(^i|I)mage$/.test(k)) {
      const s = v.trim();
      if (s.includes('{{')) skip(at, `image ${s} is a template; add the image with extraImages`);
      else if (looksLikeReference(s)) add(s, at);
    } else walkValues(v, at, add, appVersion, skip);
  }
}

/** `nginx`, `bitnami/redis`, `ghcr.io/org/app`: lowercase path components, no spaces or schemes. */
function looksLikeRepository(s: string): boolean {
  return /^[a-z0-9][a-z0-9._\-/:]*$/.test(s) && !s.includes('://');
}

/** A string value of an `image` key: `nginx:1.25`, `ghcr.io/a/b@sha256:…` (a bare word is not enough). */
function looksLikeReference(s: string): boolean {
  return /^[a-z0-9][\w.\-/:]*(@sha256:[a-f0-9]{64})?$/.test(s) && /[:/@]/.test(s) && !s.includes('://');
}

/** The repository of a reference (`ghcr.io/a/b:1@sha256:…` → `ghcr.io/a/b`), for excludeImages. */
export function repositoryOf(ref: string): string {
  const noDigest = ref.split('@')[0];
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}
