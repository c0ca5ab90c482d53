import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';

/** The Chart.yaml and values.yaml of one chart found inside a chart archive. */
export interface ChartFiles {
  /** Where it was found, for messages: `web`, `web/charts/cache`, `web/charts/db-1.0.0.tgz`. */
  at: string;
  chartYaml?: string;
  valuesYaml?: string;
}

/** Chart.yaml and values.yaml are small; anything bigger is not a chart we should parse into memory. */
const MAX_TEXT = 4 << 20;
/** Subcharts nest (charts/a/charts/b.tgz); a bomb that nests forever is cut off here. */
const MAX_DEPTH = 8;

/**
 * Read the Chart.yaml and values.yaml of a chart archive and of every subchart in it — folders
 * `charts/<sub>/` and archives `charts/<sub>.tgz` (Helm's dependency layout) — in one streaming pass
 * (gunzip + tar). Nothing else is kept; nested archives are streamed into their own parser.
 */
export function readChartArchive(source: Readable, label: string): Promise<ChartFiles[]> {
  return parseArchive(source, label, 0);
}

function parseArchive(source: Readable | ReadEntry, label: string, depth: number): Promise<ChartFiles[]> {
  return new Promise<ChartFiles[]>((resolve, reject) => {
    const charts = new Map<string, ChartFiles>();
    const nested: Promise<ChartFiles[]>[] = [];
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    const chartAt = (dir: string): ChartFiles => {
      const at = dir ? `${label}/${dir}` : label;
      let c = charts.get(at);
      if (!c) charts.set(at, (c = { at }));
      return c;
    };
    const parser = new Parser({
      strict: true,
      onReadEntry(entry: ReadEntry) {
        // `<chart>/…`: the first component is the chart's own folder (Helm's archive layout).
        const rel = entry.path.replace(/^\.\//, '').split('/').slice(1).join('/');
        const file = classify(rel);
        // A bare Parser does not drain entries nobody reads (tar.t() does): skip them explicitly.
        if (!file || entry.type !== 'File') return void entry.resume();
        if (file.kind === 'archive') {
          if (depth + 1 >= MAX_DEPTH) {
            entry.resume();
            return fail(new Error(`${label}/${rel}: subcharts nested more than ${MAX_DEPTH} deep`));
          }
          nested.push(parseArchive(entry, `${label}/${rel}`, depth + 1));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        entry.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_TEXT) return fail(new Error(`${label}/${rel}: larger than ${MAX_TEXT} bytes`));
          chunks.push(c);
        });
        entry.on('end', () => {
          const c = chartAt(file.dir);
          const text = Buffer.concat(chunks).toString('utf8');
          if (file.kind === 'Chart.yaml') c.chartYaml = text;
          else c.valuesYaml = text;
        });
      },
    });
    parser.on('error', fail);
    parser.on('abort', fail);
    parser.on('end', () => {
      Promise.all(nested).then((subs) => {
        if (failed) return;
        const own = [...charts.values()].filter((c) => c.chartYaml !== undefined);
        if (!own.length) return fail(new Error(`${label}: no Chart.yaml in the archive; not a Helm chart`));
        resolve([...own, ...subs.flat()]);
      }, fail);
    });
    source.on('error', fail);
    source.on('data', (c: Buffer) => {
      if (!parser.write(c)) {
        source.pause();
        parser.once('drain', () => source.resume());
      }
    });
    source.on('end', () => parser.end());
  });
}

type Classified = { kind: 'Chart.yaml' | 'values.yaml'; dir: string } | { kind: 'archive' };

/**
 * `Chart.yaml`, `values.yaml`, `charts/a/values.yaml`, `charts/a/charts/b/Chart.yaml` are chart files;
 * `charts/a.tgz`, `charts/a/charts/b.tgz` are subchart archives; anything else is skipped.
 */
function classify(rel: string): Classified | undefined {
  const parts = rel.split('/');
  const base = parts.pop()!;
  const dirParts = parts;
  if (base.endsWith('.tgz')) {
    // the archive sits in a chart's `charts/` folder
    const inCharts = dirParts.length % 2 === 1 && dirParts[dirParts.length - 1] === 'charts' && isChartsChain(dirParts.slice(0, -1));
    return inCharts ? { kind: 'archive' } : undefined;
  }
  if (!isChartsChain(dirParts)) return undefined;
  if (base === 'Chart.yaml' || base === 'values.yaml') return { kind: base, dir: dirParts.join('/') };
  return undefined;
}

/** `[]`, `['charts', 'a']`, `['charts', 'a', 'charts', 'b']`. */
function isChartsChain(parts: string[]): boolean {
  if (parts.length % 2 !== 0) return false;
  for (let i = 0; i < parts.length; i += 2) if (parts[i] !== 'charts' || !parts[i + 1]) return false;
  return true;
}
