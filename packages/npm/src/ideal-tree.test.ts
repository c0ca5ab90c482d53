import { describe, expect, it } from 'vitest';
import { resolveClosure } from './ideal-tree.js';
import type { Packument, VersionManifest } from './packument.js';
import { carriedLatest } from './source.js';
import { tagsToSend } from './endpoint-publish.js';

/** Registry documents as plain data: the resolver is pure over packuments. */
function registry(spec: Record<string, { tags?: Record<string, string>; versions: Record<string, Partial<VersionManifest>> }>) {
  const docs = new Map<string, Packument>();
  for (const [name, p] of Object.entries(spec)) {
    const versions = Object.fromEntries(Object.entries(p.versions).map(([v, m]) => [v, { name, version: v, dist: { tarball: `http://r/${name}-${v}.tgz` }, ...m } as VersionManifest]));
    const sorted = Object.keys(versions);
    docs.set(name, { name, 'dist-tags': p.tags ?? { latest: sorted[sorted.length - 1] }, versions });
  }
  const asked: string[] = [];
  return {
    asked,
    packument: async (name: string) => {
      asked.push(name);
      const d = docs.get(name);
      if (!d) throw new Error(`404 ${name}`);
      return d;
    },
  };
}

async function closure(reg: ReturnType<typeof registry>, roots: string[], extra: { os?: string[] } = {}) {
  const warnings: string[] = [];
  const members = await resolveClosure(roots.map((r) => {
    const at = r.indexOf('@', 1);
    return at < 0 ? { name: r, spec: '' } : { name: r.slice(0, at), spec: r.slice(at + 1) };
  }), { packument: reg.packument, dependencies: true, warn: (w) => warnings.push(w), ...extra });
  return { set: members.map((m) => `${m.manifest.name}@${m.manifest.version}`), warnings };
}

describe('resolveClosure (arborist placement)', () => {
  it('reuses a hoisted version that satisfies instead of fetching the highest', async () => {
    const reg = registry({ a: { versions: { '1.0.0': { dependencies: { c: '^1.0.0' } } } }, c: { versions: { '1.0.0': {}, '1.5.0': {} } } });
    expect((await closure(reg, ['a', 'c@1.0.0'])).set).toEqual(['a@1.0.0', 'c@1.0.0']);
  });

  it('nests a conflicting version under its dependent', async () => {
    const reg = registry({
      a: { versions: { '1.0.0': { dependencies: { c: '^2.0.0' } } } },
      b: { versions: { '1.0.0': { dependencies: { c: '^1.0.0' } } } },
      c: { versions: { '1.0.0': {}, '2.0.0': {} } },
    });
    expect((await closure(reg, ['a', 'b'])).set).toEqual(['a@1.0.0', 'b@1.0.0', 'c@1.0.0', 'c@2.0.0']);
  });

  it('installs required peers, not optional ones, and skips bundled dependencies', async () => {
    const reg = registry({
      plugin: { versions: { '1.0.0': { peerDependencies: { host: '^1', extra: '*' }, peerDependenciesMeta: { extra: { optional: true } }, dependencies: { inner: '1' }, bundleDependencies: ['inner'] } } },
      host: { versions: { '1.0.0': {}, '2.0.0': {} } },
      extra: { versions: { '1.0.0': {} } },
    });
    const r = await closure(reg, ['plugin']);
    expect(r.set).toEqual(['host@1.0.0', 'plugin@1.0.0']);
    expect(reg.asked).not.toContain('inner');
  });

  it('keeps optional dependencies of the listed platforms only when os is given', async () => {
    const reg = registry({
      app: { versions: { '1.0.0': { optionalDependencies: { 'n-linux': '1', 'n-darwin': '1' } } } },
      'n-linux': { versions: { '1.0.0': { os: ['linux'] } } },
      'n-darwin': { versions: { '1.0.0': { os: ['darwin'] } } },
    });
    expect((await closure(reg, ['app'])).set).toEqual(['app@1.0.0', 'n-darwin@1.0.0', 'n-linux@1.0.0']);
    expect((await closure(reg, ['app'], { os: ['linux'] })).set).toEqual(['app@1.0.0', 'n-linux@1.0.0']);
  });

  it('leaves out a missing optional dependency with a warning, and fails on a missing required one', async () => {
    const reg = registry({ app: { versions: { '1.0.0': { optionalDependencies: { gone: '1' } } } }, lib: { versions: { '1.0.0': { dependencies: { gone: '1' } } } } });
    const r = await closure(reg, ['app']);
    expect(r.set).toEqual(['app@1.0.0']);
    expect(r.warnings.join('\n')).toMatch(/gone@1 of app@1\.0\.0 left out/);
    await expect(closure(reg, ['lib'])).rejects.toThrow(/404 gone/);
  });

  it('follows dependency cycles without looping', async () => {
    const reg = registry({ a: { versions: { '1.0.0': { dependencies: { b: '1' } } } }, b: { versions: { '1.0.0': { dependencies: { a: '1' } } } } });
    expect((await closure(reg, ['a'])).set).toEqual(['a@1.0.0', 'b@1.0.0']);
  });
});

describe('dist-tags carried to a target', () => {
  it('latest is the highest carried version not above the upstream latest, a release before a prerelease', () => {
    expect(carriedLatest(['1.2.0', '2.0.0'], '2.0.0')).toBe('2.0.0');
    expect(carriedLatest(['1.2.0', '3.0.0-rc.1'], '2.0.0')).toBe('1.2.0');
    expect(carriedLatest(['3.0.0-rc.1'], '2.0.0')).toBe('3.0.0-rc.1');
  });
  it('never moves a target tag back to an older version', () => {
    const meta = { manifest: {} as VersionManifest, tags: ['latest', 'next'], carriedLatest: '2.0.0' };
    expect(tagsToSend(meta, '2.0.0', {})).toEqual({ latest: '2.0.0', next: '2.0.0' });
    expect(tagsToSend(meta, '2.0.0', { latest: '3.0.0', next: '1.0.0' })).toEqual({ next: '2.0.0' });
    expect(tagsToSend({ ...meta, tags: [], carriedLatest: '2.0.0' }, '1.0.0', {})).toEqual({});
  });
});
