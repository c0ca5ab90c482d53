import { describe, expect, it } from 'vitest';
import { parseRich, parseSimpleDep, resolveClosure } from './closure.js';
import type { Dep, RpmPackage } from './primary.js';

// Package records as readPrimary yields them (the format side is tested with createrepo_c output in test/yum/).
function pkg(nevra: string, rel: { requires?: string[]; provides?: string[]; files?: string[] } = {}): RpmPackage {
  const m = /^(.+)-(?:(\d+):)?([^-]+)-([^-]+)\.([^.]+)$/.exec(nevra)!;
  const dep = (s: string): Dep => (s.startsWith('(') ? { name: s } : parseSimpleDep(s));
  return {
    name: m[1], epoch: m[2] ?? '0', version: m[3], release: m[4], arch: m[5],
    checksum: { type: 'sha256', value: nevra }, size: 1, href: `${nevra}.rpm`,
    provides: (rel.provides ?? []).map(dep), requires: (rel.requires ?? []).map(dep), files: rel.files ?? [],
  };
}
const names = (r: { packages: RpmPackage[] }) => r.packages.map((p) => `${p.name}-${p.version}-${p.release}.${p.arch}`);
const closure = (candidates: RpmPackage[], roots: string[], filelists?: Record<string, string[]>) =>
  resolveClosure({ candidates, roots, dependencies: true, repo: 'test', filelists: filelists ? async (paths) => new Map([...paths].filter((p) => filelists[p]).map((p) => [p, filelists[p]])) : undefined });

describe('parseRich', () => {
  it('parses nested boolean dependencies', () => {
    expect(parseRich('(a or (b >= 2 and c))')).toEqual({ op: 'or', args: [
      { op: 'dep', dep: { name: 'a' } },
      { op: 'and', args: [{ op: 'dep', dep: { name: 'b', flags: 'GE', evr: { epoch: undefined, version: '2' } } }, { op: 'dep', dep: { name: 'c' } }] },
    ] });
    expect(parseRich('(a if b else c)')).toMatchObject({ op: 'if', then: { dep: { name: 'a' } }, cond: { dep: { name: 'b' } }, else: { dep: { name: 'c' } } });
  });
  it.each(['(a or b and c)', '(a or)', '((a)', 'a or b', '(a if b else c else d)'])('refuses %s', (s) => {
    expect(() => parseRich(s)).toThrow();
  });
});

describe('resolveClosure', () => {
  it('skips rpmlib() and self-provided requirements; prefers the required name, then arch, then newest', async () => {
    const r = await closure([
      pkg('app-1-1.x86_64', { requires: ['rpmlib(PayloadIsZstd) <= 5.4.18-1', 'app-data', 'libfoo', 'config(app) = 1-1'], provides: ['config(app) = 1-1'] }),
      pkg('app-data-1-1.noarch'),
      pkg('other-9-1.noarch', { provides: ['app-data'] }),
      pkg('libfoo-1-1.x86_64'), pkg('libfoo-2-1.x86_64'), pkg('libfoo-3-1.i686'),
    ], ['app']);
    expect(names(r)).toEqual(['app-1-1.x86_64', 'app-data-1-1.noarch', 'libfoo-2-1.x86_64']);
    expect(r.unresolved).toEqual([]);
  });

  it('versioned requirements against versioned provides, with epochs', async () => {
    const r = await closure([
      pkg('a-1-1.noarch', { requires: ['b >= 1:0.1'] }),
      pkg('b-2.0-1.noarch'), pkg('b-1:0.5-1.noarch'),
    ], ['a']);
    expect(names(r)).toEqual(['a-1-1.noarch', 'b-0.5-1.noarch']);
  });

  it('file requirements: primary files first, filelists only for the rest', async () => {
    const asked: string[][] = [];
    const r = await resolveClosure({
      candidates: [pkg('a-1-1.noarch', { requires: ['/usr/bin/b', '/usr/share/c/x'] }), pkg('b-1-1.noarch', { files: ['/usr/bin/b'] }), pkg('c-1-1.noarch')],
      roots: ['a'], dependencies: true, repo: 'test',
      filelists: async (paths) => {
        asked.push([...paths]);
        return new Map([['/usr/share/c/x', ['c-1-1.noarch']]]);
      },
    });
    expect(names(r)).toEqual(['a-1-1.noarch', 'b-1-1.noarch', 'c-1-1.noarch']);
    expect(asked).toEqual([['/usr/share/c/x']]);
  });

  it('rich dependencies: or picks the first that can be met, if follows its condition, with needs one package for both', async () => {
    const base = [
      pkg('x-1-1.noarch'), pkg('y-1-1.noarch'), pkg('lang-1-1.noarch'), pkg('gui-1-1.noarch'),
      pkg('impl-1-1.noarch', { provides: ['api = 1'] }), pkg('impl-2-1.noarch', { provides: ['api = 2'] }),
    ];
    const a = await closure([...base, pkg('a-1-1.noarch', { requires: ['(missing or y or x)', '(lang if gui)'] })], ['a']);
    expect(names(a)).toEqual(['a-1-1.noarch', 'y-1-1.noarch']);
    // the condition becomes true later in the walk: the conditional requirement is met then
    const b = await closure([...base, pkg('b-1-1.noarch', { requires: ['(lang if gui)', 'gui'] })], ['b']);
    expect(names(b)).toEqual(['b-1-1.noarch', 'gui-1-1.noarch', 'lang-1-1.noarch']);
    const c = await closure([...base, pkg('c-1-1.noarch', { requires: ['(impl with api = 1)'] })], ['c']);
    expect(names(c)).toEqual(['c-1-1.noarch', 'impl-1-1.noarch']);
    const d = await closure([...base, pkg('d-1-1.noarch', { requires: ['(x unless y else lang)'] })], ['d']);
    expect(names(d)).toEqual(['d-1-1.noarch', 'x-1-1.noarch']);
  });

  it('reports what nothing provides, with the package that needs it', async () => {
    const r = await closure([pkg('a-1-1.noarch', { requires: ['ghost >= 2', '(p or q)', '/opt/none'] })], ['a'], {});
    expect(r.unresolved).toEqual([
      { requirement: 'ghost >= 2', neededBy: 'a-1-1.noarch' },
      { requirement: '(p or q)', neededBy: 'a-1-1.noarch' },
      { requirement: '/opt/none', neededBy: 'a-1-1.noarch' },
    ]);
  });

  it('a root by provide when no package has the name; an unknown root is an error', async () => {
    const r = await closure([pkg('impl-2-1.noarch', { provides: ['webserver'] })], ['webserver']);
    expect(names(r)).toEqual(['impl-2-1.noarch']);
    await expect(closure([pkg('a-1-1.noarch')], ['nope'])).rejects.toThrow(/no package nope/);
  });
});
