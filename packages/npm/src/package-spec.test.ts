import { describe, expect, it } from 'vitest';
import { parseSpec, specSatisfied, splitPackageArg } from './package-spec.js';

describe('package specs (npm-package-arg, registry subset)', () => {
  it('splits name and spec at the right @', () => {
    expect(splitPackageArg('express@^4.21')).toEqual({ name: 'express', spec: '^4.21' });
    expect(splitPackageArg('@types/node@22')).toEqual({ name: '@types/node', spec: '22' });
    expect(splitPackageArg('@types/node')).toEqual({ name: '@types/node', spec: '' });
  });
  it('classifies versions, ranges, tags and aliases', () => {
    expect(parseSpec('a', '1.2.3').type).toBe('version');
    expect(parseSpec('a', '~1.3.8').type).toBe('range');
    expect(parseSpec('a', '').type).toBe('range');
    expect(parseSpec('a', '1.x || >=2.5.0').type).toBe('range');
    expect(parseSpec('a', 'next').type).toBe('tag');
    const alias = parseSpec('b', 'npm:real@^2');
    expect(alias.type).toBe('alias');
  });
  it('refuses git, URL, file and directory specs', () => {
    for (const s of ['github:u/r', 'u/r', 'git+https://x/y.git', 'https://x/y.tgz', 'file:../x', './dir', '~/dir']) {
      expect(parseSpec('a', s).type, s).toBe('unsupported');
    }
  });
  it('satisfaction follows semver, tags accept any registry version, aliases check the target name', () => {
    expect(specSatisfied(parseSpec('a', '^1.2.0') as never, 'a', '1.9.0')).toBe(true);
    expect(specSatisfied(parseSpec('a', '^1.2.0') as never, 'a', '2.0.0')).toBe(false);
    expect(specSatisfied(parseSpec('a', 'beta') as never, 'a', '0.0.1')).toBe(true);
    expect(specSatisfied(parseSpec('b', 'npm:real@^2') as never, 'real', '2.1.0')).toBe(true);
    expect(specSatisfied(parseSpec('b', 'npm:real@^2') as never, 'b', '2.1.0')).toBe(false);
  });
});
