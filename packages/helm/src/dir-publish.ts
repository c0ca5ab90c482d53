import semver from 'semver';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  type Artifact, type ConfinedRoot, type Descriptor, type PublishContext, type PublishHalf, digestHex, dirMirror, dirPublisher } from '@airgap/core';
import { chartFileName } from './chart-file.js';
import type { ChartMeta } from './source.js';

/** `helm/` of the mirror; every write goes through the confined root (docs/security.md). */
function helmDir(ctx: PublishContext): ConfinedRoot {
  return dirMirror(ctx, 'helm');
}


function files(artifact: Artifact): { blob: Descriptor; name: string }[] {
  const file = chartFileName(artifact.name, artifact.version);
  const meta = artifact.meta as unknown as ChartMeta;
  return [{ blob: artifact.blobs[0], name: file }, ...(meta.prov ? [{ blob: artifact.blobs[1], name: file + '.prov' }] : [])];
}


interface HelmIndex {
  apiVersion: 'v1';
  entries: Record<string, Record<string, unknown>[]>;
  generated: string;
}

/**
 * `helm/` in a directory mirror (docs/design.md): the charts and their .prov files as carried, and an
 * index.yaml with relative URLs, so `helm repo add` works against any URL the folder is served at.
 */
export const chartDirPublisher: PublishHalf = {
  // The chart and its .prov: presence by digest, never overwrite, atomic writes (the core's dir publisher).
  ...dirPublisher({ folder: 'helm', files: (a) => files(a).map((f) => ({ rel: f.name, blob: f.blob })), label: (a) => `chart ${a.name}@${a.version}` }),

  /**
   * Regenerate helm/index.yaml once per unpack: the entries already there (charts of earlier bundles
   * whose files are still in place) plus every chart of this bundle that is in the folder.
   */
  async finalize(artifacts, ctx) {
    const dir = helmDir(ctx);
    const indexPath = dir.path('index.yaml');
    const entries = new Map<string, Map<string, Record<string, unknown>>>();
    const put = (name: string, version: string, e: Record<string, unknown>) => {
      if (!entries.has(name)) entries.set(name, new Map());
      entries.get(name)!.set(version, e);
    };
    let old: HelmIndex | undefined;
    try {
      const text = await dir.readFile('index.yaml', 'utf8');
      old = text === undefined ? undefined : (parseYaml(text) as HelmIndex);
    } catch (e) {
      ctx.log.warn(`${indexPath}: unreadable (${(e as Error).message.split('\n')[0]}); writing a new one`);
    }
    for (const [name, list] of Object.entries(old?.entries ?? {})) {
      for (const e of Array.isArray(list) ? list : []) {
        const url = Array.isArray(e.urls) ? String(e.urls[0]) : '';
        if (!url || url.includes('/') || url.includes(':') || url.includes('\\') || url === '.' || url === '..' || !(await dir.isFile(url).catch(() => false))) continue;
        put(name, String(e.version), e);
      }
    }
    for (const a of artifacts) {
      const meta = a.meta as unknown as ChartMeta | undefined;
      if (meta?.source !== 'http') continue;
      const file = chartFileName(a.name, a.version);
      // Only what is in place with the bundle's bytes: a chart that failed (or was refused) is not listed.
      if (!(await holds(dir, file, a.blobs[0]))) continue;
      put(a.name, a.version, {
        ...meta.entry,
        name: a.name,
        version: a.version,
        urls: [file],
        digest: digestHex(a.digest),
        created: meta.entry.created ?? ctx.bundle.created,
      });
    }
    if (!entries.size) return;
    const index: HelmIndex = { apiVersion: 'v1', entries: {}, generated: new Date().toISOString() };
    for (const name of [...entries.keys()].sort()) {
      // Newest first, as `helm repo index` writes them.
      index.entries[name] = [...entries.get(name)!.values()].sort((x, y) => compareVersions(String(y.version), String(x.version)));
    }
    // The same charts as the index already lists: leave it (and its `generated` time) as it is, so a
    // re-run changes nothing in the mirror (test/contract/publishers.test.ts).
    if (old && JSON.stringify(old.entries) === JSON.stringify(index.entries)) return;
    await dir.writeFile('index.yaml', stringifyYaml(index, { lineWidth: 0 }));
  },
};

function compareVersions(a: string, b: string): number {
  const va = semver.valid(a);
  const vb = semver.valid(b);
  if (va && vb) return semver.compare(va, vb);
  return a < b ? -1 : a > b ? 1 : 0;
}

async function holds(dir: ConfinedRoot, file: string, blob: Descriptor): Promise<boolean> {
  if ((await dir.stat(file))?.size !== blob.size) return false;
  return (await dir.digest(file)) === blob.digest;
}
