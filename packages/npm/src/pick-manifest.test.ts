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
    expect(pickManifest(p, 'range', '^1.0.0')?.version).toBe('1.1.0');
    expect(pickManifest(p, 'range', '*')?.version).toBe('1.1.0');
  });
  it('otherwise takes the highest satisfying, non-deprecated first', () => {
    expect(pickManifest(p, 'range', '>=2')?.version).toBe('2.0.0');
    const noLatest = packument({ '1.0.0': {}, '1.1.0': {}, '1.2.0': { deprecated: 'x' } }, {});
    expect(pickManifest(noLatest, 'range', '^1')?.version).toBe('1.1.0');
    expect(pickManifest(noLatest, 'range', '~1.2.0')?.version).toBe('1.2.0');
  });
  it('leaves prereleases out of ranges that do not name one', () => {
    expect(pickManifest(p, 'range', '>=2.0.0')?.version).toBe('2.0.0');
    expect(pickManifest(p, 'range', '>=3.0.0-rc.0')?.version).toBe('3.0.0-rc.1');
  });
  it('a tag is exactly its version; an exact version only itself', () => {
    expect(pickManifest(p, 'tag', 'next')?.version).toBe('3.0.0-rc.1');
    expect(pickManifest(p, 'tag', 'nope')).toBeUndefined();
    expect(pickManifest(p, 'version', '1.2.0')?.version).toBe('1.2.0');
    expect(pickManifest(p, 'version', '9.9.9')).toBeUndefined();
  });
  it('prefers versions whose engines.node accept this node', () => {
    const e = packument({ '1.0.0': {}, '1.1.0': { engines: { node: '>=99' } } }, { latest: '1.1.0' });
    expect(pickManifest(e, 'range', '^1', 'v20.20.2')?.version).toBe('1.0.0');
    expect(pickManifest(e, 'range', '^1', 'v100.0.0')?.version).toBe('1.1.0');
  });
});
