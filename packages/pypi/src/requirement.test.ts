import { describe, expect, it } from 'vitest';
import { parseRequirement, pinsExactly } from './requirement.js';
import { normalizeName } from './names.js';

describe('PEP 508 requirements', () => {
  it('normalises names and extras and keeps the specifier and marker', () => {
    const r = parseRequirement('Foo.Bar[Socks, fast_json] (>=1.0, <2) ; python_version >= "3.8"');
    expect(r).toMatchObject({ name: 'foo-bar', extras: ['socks', 'fast-json'], specifier: '>=1.0,<2' });
    expect(r.marker).toBeDefined();
    expect(parseRequirement('requests').specifier).toBe('');
    expect(parseRequirement('a==1.0;sys_platform=="win32"')).toMatchObject({ name: 'a', specifier: '==1.0' });
  });

  it('recognises direct URL references', () => {
    expect(parseRequirement('pkg @ https://example.invalid/pkg-1.0.tar.gz ; os_name == "posix"')).toMatchObject({ name: 'pkg', url: 'https://example.invalid/pkg-1.0.tar.gz' });
  });

  it('refuses bad specifiers and names', () => {
    expect(() => parseRequirement('foo >>= 1')).toThrow(/invalid version specifier/);
    expect(() => parseRequirement('-foo')).toThrow(/not a PEP 508 requirement/);
    expect(() => parseRequirement('foo; nonsense')).toThrow();
  });

  it('exact pins (PEP 592) are == without wildcard, or ===', () => {
    expect(pinsExactly('==1.0')).toBe(true);
    expect(pinsExactly('===1.0')).toBe(true);
    expect(pinsExactly('==1.*')).toBe(false);
    expect(pinsExactly('>=1.0')).toBe(false);
  });

  it('normalises like PEP 503', () => {
    expect(normalizeName('Friendly-Bard')).toBe('friendly-bard');
    expect(normalizeName('FRIENDLY._-BARD')).toBe('friendly-bard');
  });
});
