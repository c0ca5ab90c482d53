import { describe, expect, it } from 'vitest';
import { pickManifest } from './pick-manifest.js';
import type { Packument, VersionManifest } from './packument.js';

function packument(versions: Record<string, Partial<VersionManifest>>, tags: Record<string, string>): Packument {
  return {
    name: 'p',
    'dist-tags': tags,
    versions: Object.fromEntries(Object.entries(versions).map(([v, m]) => [v, { name: 'p', version: v, dist: { tarball: `http://r/p-${v}.tgz` }, ...m }])),
  };
}

describe('pickManifest (npm-pick-manifest rules)', () => {
  const p = packument({ '1.0.0': {}, '1.1.0': {}, '1.2.0': { deprecated: 'broken' }, '2.0.0': {}, '3.0.0-rc.1': {} }, { latest: '1.1.0', next: '3.0.0-rc.1' });

  it('prefers the latest tag when it satisfies the range', () => {
    expect(pickManifest(p, '^1.0.0')?.version).toBe('1.1.0');
    expect(pickManifest(p, '*')?.version).toBe('1.1.0');
  });
  it('otherwise takes the highest satisfying, non-deprecated first', () => {
    expect(pickManifest(p, '>=2')?.version).toBe('2.0.0');
    const noLatest = packument({ '1.0.0': {}, '1.1.0': {}, '1.2.0': { deprecated: 'x' } }, {});
    expect(pickManifest(noLatest, '^1')?.version).toBe('1.1.0');
    expect(pickManifest(noLatest, '~1.2.0')?.version).toBe('1.2.0');
  });
  it('leaves prereleases out of ranges that do not name one', () => {
    expect(pickManifest(p, '>=2.0.0')?.version).toBe('2.0.0');
    expect(pickManifest(p, '>=3.0.0-rc.0')?.version).toBe('3.0.0-rc.1');
  });
  it('a tag is exactly its version; an exact version only itself', () => {
    expect(pickManifest(p, 'next')?.version).toBe('3.0.0-rc.1');
    expect(pickManifest(p, 'nope')).toBeUndefined();
    expect(pickManifest(p, '1.2.0')?.version).toBe('1.2.0');
    expect(pickManifest(p, '9.9.9')).toBeUndefined();
  });
  it('prefers versions whose engines.node accept this node', () => {
    const e = packument({ '1.0.0': {}, '1.1.0': { engines: { node: '>=99' } } }, { latest: '1.1.0' });
    expect(pickManifest(e, '^1', 'v20.20.2')?.version).toBe('1.0.0');
    expect(pickManifest(e, '^1', 'v100.0.0')?.version).toBe('1.1.0');
  });
  it("returns the registry's own version object, not npm-pick-manifest's normalized copy", () => {
    const b = packument({ '1.0.0': { bin: './cli.js' } as Partial<VersionManifest> }, { latest: '1.0.0' });
    expect(pickManifest(b, '^1')).toBe(b.versions['1.0.0']);
    expect(pickManifest(b, '^1')?.bin).toBe('./cli.js');
  });
});
