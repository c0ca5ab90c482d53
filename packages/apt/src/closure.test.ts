import { UpstreamError, UsageError } from '@airgap/core';
import { describe, expect, it } from 'vitest';
import { parseStanzas } from './control.js';
import { PackageUniverse, resolveClosure, type ClosureOptions } from './closure.js';
import { parsePackageRequest } from './relations.js';

/** A tiny archive in Packages syntax; one universe per test. */
const PACKAGES = `
Package: app
Version: 1.0
Architecture: amd64
Pre-Depends: init-tools
Depends: libfoo (>= 2.0), mta | mail-fallback, perl:any, helper:native, docs

Package: app
Version: 2.0~rc1
Architecture: amd64
Depends: libfoo (>= 2.0)

Package: init-tools
Version: 1
Architecture: amd64

Package: libfoo
Version: 1.9
Architecture: amd64

Package: libfoo
Version: 2.1
Architecture: amd64
Depends: libfoo-data (= 2.1)

Package: libfoo
Version: 1:0.5
Architecture: amd64

Package: libfoo-data
Version: 2.1
Architecture: all

Package: postfix
Version: 3.7
Architecture: amd64
Provides: mta

Package: exim4
Version: 4.96
Architecture: amd64
Provides: mta
Depends: exim4-base

Package: exim4-base
Version: 4.96
Architecture: amd64

Package: mail-fallback
Version: 1
Architecture: amd64

Package: perl
Version: 5.36
Architecture: arm64
Multi-Arch: allowed

Package: helper
Version: 1
Architecture: amd64

Package: helper
Version: 1
Architecture: arm64

Package: docs
Version: 1
Architecture: all

Package: needs-abi
Version: 1
Architecture: amd64
Depends: foo-abi (>= 3)

Package: abi-old
Version: 1
Architecture: amd64
Provides: foo-abi (= 2)

Package: abi-new
Version: 1
Architecture: amd64
Provides: foo-abi (= 3)

Package: abi-unversioned
Version: 1
Architecture: amd64
Provides: foo-abi

Package: broken
Version: 1
Architecture: amd64
Depends: nowhere-to-be-found
`;

function universe() {
  const u = new PackageUniverse<string>();
  for (const s of parseStanzas(PACKAGES)) u.add(s, 'main');
  return u;
}

const opts = (o: Partial<ClosureOptions> = {}): ClosureOptions => ({
  architectures: ['amd64', 'arm64'], dependencies: true, alternatives: 'first', exclude: new Set(), where: 'test archive', ...o,
});

const ids = (l: { name: string; version: string; arch: string }[]) => l.map((c) => `${c.name}=${c.version}/${c.arch}`);

describe('resolveClosure', () => {
  it('takes Depends and Pre-Depends with versions, the first alternative, every provider of a virtual package, :any, :native and arch all', () => {
    const got = resolveClosure(universe(), [parsePackageRequest('app (<< 2~)')], opts());
    expect(ids(got)).toEqual([
      'app=1.0/amd64', // 2.0~rc1 is newer but does not satisfy << 2~
      'docs=1/all',
      'exim4=4.96/amd64', // mta is virtual: every provider, with its own dependencies
      'exim4-base=4.96/amd64',
      'helper=1/amd64', // :native is the first architecture
      'init-tools=1/amd64',
      'libfoo=1:0.5/amd64', // the epoch makes 1:0.5 the newest
      'perl=5.36/arm64', // :any takes another architecture
      'postfix=3.7/amd64',
    ]);
  });

  it('picks the newest version that satisfies, and follows that version\'s dependencies', () => {
    const got = resolveClosure(universe(), [parsePackageRequest('libfoo (<< 1:0)')], opts());
    expect(ids(got)).toEqual(['libfoo=2.1/amd64', 'libfoo-data=2.1/all']);
  });

  it('with alternatives: all takes every satisfiable alternative', () => {
    const got = resolveClosure(universe(), [parsePackageRequest('app=1.0')], opts({ alternatives: 'all' }));
    expect(ids(got)).toContain('mail-fallback=1/amd64');
    expect(ids(got)).toContain('postfix=3.7/amd64');
  });

  it('satisfies a versioned relation only through a versioned Provides that matches', () => {
    const got = resolveClosure(universe(), [parsePackageRequest('needs-abi')], opts());
    expect(ids(got)).toEqual(['abi-new=1/amd64', 'needs-abi=1/amd64']);
  });

  it('exclude removes a name and what only it needed, and moves on to the next alternative', () => {
    const got = resolveClosure(universe(), [parsePackageRequest('app=1.0')], opts({ exclude: new Set(['exim4', 'postfix', 'libfoo']) }));
    expect(ids(got)).not.toContain('exim4-base=4.96/amd64');
    expect(ids(got)).not.toContain('libfoo=1:0.5/amd64');
    expect(ids(got)).toContain('mail-fallback=1/amd64');
    expect(ids(got)).toContain('docs=1/all');
  });

  it('without dependencies returns only the requested packages', () => {
    expect(ids(resolveClosure(universe(), [parsePackageRequest('app=1.0')], opts({ dependencies: false })))).toEqual(['app=1.0/amd64']);
  });

  it('prefers the default pin priority over a newer version from a NotAutomatic suite (backports), as apt does', () => {
    const u = universe();
    for (const st of parseStanzas('Package: libfoo\nVersion: 9.0\nArchitecture: amd64\n\nPackage: init-tools\nVersion: 2~bpo1\nArchitecture: amd64\n')) u.add(st, 'backports', 1);
    expect(ids(resolveClosure(u, [parsePackageRequest('init-tools')], opts()))).toEqual(['init-tools=1/amd64']);
    expect(ids(resolveClosure(u, [parsePackageRequest('libfoo (<< 1:0)')], opts()))).toEqual(['libfoo=2.1/amd64', 'libfoo-data=2.1/all']);
    // Only the backport satisfies the relation: it is taken.
    expect(ids(resolveClosure(u, [parsePackageRequest('init-tools (>= 2~)')], opts()))).toEqual(['init-tools=2~bpo1/amd64']);
  });

  it('refuses a package that is not there (usage) and a dependency nothing satisfies (upstream), naming them', () => {
    expect(() => resolveClosure(universe(), [parsePackageRequest('nope')], opts())).toThrow(UsageError);
    expect(() => resolveClosure(universe(), [parsePackageRequest('app (>= 3)')], opts())).toThrow(/app \(>= 3\) is not in test archive/);
    let err: unknown;
    try {
      resolveClosure(universe(), [parsePackageRequest('broken')], opts());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UpstreamError);
    expect(String((err as Error).message)).toMatch(/broken 1 \(amd64\) depends on nowhere-to-be-found/);
  });
});
