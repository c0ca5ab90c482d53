import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { field, formatStanza, parseStanzas, streamStanzas } from './control.js';
import { parsePackageRequest, parseProvides, parseRelations } from './relations.js';

const TEXT = 'Package: a\nVersion: 1.0\nDescription: short\n long line\n .\n more\n\n\nPackage: b\nversion: 2\n';

describe('deb822 stanzas', () => {
  it('parses paragraphs with continuation lines and writes them back unchanged', async () => {
    const s = parseStanzas(TEXT);
    expect(s).toHaveLength(2);
    expect(field(s[0], 'description')).toBe('short\n long line\n .\n more');
    expect(field(s[1], 'Version')).toBe('2');
    expect(formatStanza(s[0])).toBe('Package: a\nVersion: 1.0\nDescription: short\n long line\n .\n more\n');
    const streamed = [];
    for await (const x of streamStanzas(Readable.from([TEXT.slice(0, 17), TEXT.slice(17)]))) streamed.push(x);
    expect(streamed).toEqual(s);
  });
});

describe('relations', () => {
  it('parses groups, alternatives, versions, arch qualifiers and the obsolete < >', () => {
    expect(parseRelations('libc6 (>= 2.34), a | b:any (<< 3~), c:native, d (> 1), perl:any')).toEqual([
      [{ name: 'libc6', op: '>=', version: '2.34' }],
      [{ name: 'a' }, { name: 'b', archQualifier: 'any', op: '<<', version: '3~' }],
      [{ name: 'c', archQualifier: 'native' }],
      [{ name: 'd', op: '>=', version: '1' }],
      [{ name: 'perl', archQualifier: 'any' }],
    ]);
    expect(parseProvides('mail-transport-agent, libfoo-abi (= 2)')).toEqual([{ name: 'mail-transport-agent' }, { name: 'libfoo-abi', version: '2' }]);
    expect(parsePackageRequest('nginx=1.22.1-9')).toEqual([{ name: 'nginx', op: '=', version: '1.22.1-9' }]);
    expect(parsePackageRequest('curl (>= 7.88)')).toEqual([{ name: 'curl', op: '>=', version: '7.88' }]);
    expect(() => parsePackageRequest('curl >= 7')).toThrow(/not a package relation/);
  });
});
