import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  type Artifact, type Descriptor, type PublishContext, type PublishHalf, TargetError, digestHex, writeFileAtomic, fileDigest, writeStreamAtomic } from '@airgap/core';
import { chartFileName } from './chart-file.js';
import type { ChartMeta } from './source.js';

function helmDir(ctx: PublishContext): string {
  if (ctx.target.type !== 'dir') throw new TargetError('helm dir publisher used with a non-dir target');
  return join(ctx.target.path, 'helm');
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
 * `helm/` in a directory mirror (SPEC §7): the charts and their .prov files as carried, and an
 * index.yaml with relative URLs, so `helm repo add` works against any URL the folder is served at.
 */
export const chartDirPublisher: PublishHalf = {
  async exists(artifact, ctx) {
    const dir = helmDir(ctx);
    let missing = false;
    for (const f of files(artifact)) {
      const path = join(dir, f.name);
      const have = await fileDigest(path);
      if (have === undefined) missing = true;
      else if (have !== f.blob.digest) {
        throw new TargetError(`${path} already exists with different content than chart ${artifact.name}@${artifact.version} (${f.blob.digest})`, {
          subject: path,
          hint: 'airgap never overwrites a published chart: move the old file away if the new one is meant to replace it',
        });
      }
    }
    return missing ? 'absent' : 'present';
  },

  async publish(artifact, ctx) {
    const dir = helmDir(ctx);
    await mkdir(dir, { recursive: true });
    for (const f of files(artifact)) await writeStreamAtomic(ctx.blobs.open(f.blob), join(dir, f.name));
  },

  /**
   * Regenerate helm/index.yaml once per unpack: the entries already there (charts of earlier bundles
   * whose files are still in place) plus every chart of this bundle that is in the folder.
   */
  async finalize(artifacts, ctx) {
    const dir = helmDir(ctx);
    const indexPath = join(dir, 'index.yaml');
    const entries = new Map<string, Map<string, Record<string, unknown>>>();
    const put = (name: string, version: string, e: Record<string, unknown>) => {
      if (!entries.has(name)) entries.set(name, new Map());
      entries.get(name)!.set(version, e);
    };
    let old: HelmIndex | undefined;
    try {
      old = parseYaml(await readFile(indexPath, 'utf8')) as HelmIndex;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') ctx.log.warn(`${indexPath}: unreadable (${(e as Error).message.split('\n')[0]}); writing a new one`);
    }
    for (const [name, list] of Object.entries(old?.entries ?? {})) {
      for (const e of Array.isArray(list) ? list : []) {
        const url = Array.isArray(e.urls) ? String(e.urls[0]) : '';
        if (!url || url.includes('/') || url.includes(':') || !(await exists(join(dir, url)))) continue;
        put(name, String(e.version), e);
      }
    }
    for (const a of artifacts) {
      const meta = a.meta as unknown as ChartMeta | undefined;
      if (meta?.source !== 'http') continue;
      const file = chartFileName(a.name, a.version);
      // Only what is in place with the bundle's bytes: a chart that failed (or was refused) is not listed.
      if (!(await holds(join(dir, file), a.blobs[0]))) continue;
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
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(indexPath, stringifyYaml(index, { lineWidth: 0 }));
  },
};

function compareVersions(a: string, b: string): number {
  const va = semver.valid(a);
  const vb = semver.valid(b);
  if (va && vb) return semver.compare(va, vb);
  return a < b ? -1 : a > b ? 1 : 0;
}

async function holds(path: string, blob: Descriptor): Promise<boolean> {
  try {
    if ((await stat(path)).size !== blob.size) return false;
  } catch {
    return false;
  }
  return (await fileDigest(path)) === blob.digest;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
