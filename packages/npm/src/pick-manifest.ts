import semver from 'semver';
import type { Packument, VersionManifest } from './packument.js';

/**
 * npm's choice of a version for a spec (npm/npm-pick-manifest lib/index.js): a tag is exactly that
 * version; an exact version only itself; for a range the `latest` tag wins when it satisfies (and is
 * neither deprecated nor engine-incompatible); otherwise non-deprecated, engine-compatible versions
 * sort first, then the highest.
 */
export function pickManifest(packument: Packument, type: 'version' | 'range' | 'tag', wanted: string, nodeVersion = process.version): VersionManifest | undefined {
  const versions = packument.versions ?? {};
  const distTags = packument['dist-tags'] ?? {};
  if (type === 'tag') {
    const v = distTags[wanted];
    return v ? versions[v] : undefined;
  }
  if (type === 'version') {
    const v = semver.clean(wanted, { loose: true });
    return v ? versions[v] : undefined;
  }
  const range = wanted === '' ? '*' : wanted;
  const latest = distTags.latest;
  if (latest && (range === '*' || semver.satisfies(latest, range, { loose: true }))) {
    const mani = versions[latest];
    if (mani && engineOk(mani, nodeVersion) && !mani.deprecated) return mani;
  }
  let best: VersionManifest | undefined;
  let bestKey: [number, number, number] | undefined;
  for (const [ver, mani] of Object.entries(versions)) {
    if (!semver.satisfies(ver, range, { loose: true })) continue;
    const notDep = mani.deprecated ? 0 : 1;
    const eng = engineOk(mani, nodeVersion) ? 1 : 0;
    const key: [number, number, number] = [notDep && eng, eng, notDep];
    if (!best || compareKey(key, bestKey!) > 0 || (compareKey(key, bestKey!) === 0 && semver.gt(ver, best.version, { loose: true }))) {
      best = mani;
      bestKey = key;
    }
  }
  return best;
}

function compareKey(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** npm-install-checks checkEngine, for node only (the npm version check is skipped like pacote's default). */
export function engineOk(mani: VersionManifest, nodeVersion: string): boolean {
  const node = mani.engines && typeof mani.engines === 'object' ? (mani.engines as Record<string, unknown>).node : undefined;
  if (typeof node !== 'string' || !node.trim()) return true;
  try {
    return semver.satisfies(nodeVersion, node, { includePrerelease: true });
  } catch {
    return true;
  }
}
