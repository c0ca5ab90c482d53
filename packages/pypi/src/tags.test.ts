import { describe, expect, it } from 'vitest';
import { TagRanking, compatiblePlatforms, parseSdistFilename, parseWheelFilename, supportedTags, wheelTag } from './tags.js';

const target = (platform: string, python: [number, number] = [3, 11]) => new TagRanking(supportedTags({ python, implementation: 'cp', platform }));
const fits = (filename: string, platform = 'manylinux_2_17_x86_64', python: [number, number] = [3, 11]) =>
  target(platform, python).of(parseWheelFilename(filename)!) !== undefined;

describe('wheel file names', () => {
  it('parses dotted tag sets and build tags', () => {
    const w = parseWheelFilename('foo_bar-1.0-1-py2.py3-none-any.whl')!;
    expect(w).toMatchObject({ distribution: 'foo_bar', version: '1.0', build: '1', pythonTags: ['py2', 'py3'], abiTags: ['none'], platformTags: ['any'] });
    expect(wheelTag(w)).toBe('py2.py3-none-any');
    expect(parseWheelFilename('foo-1.0.tar.gz')).toBeUndefined();
    expect(parseWheelFilename('foo-1.0-py3-any.whl')).toBeUndefined();
  });

  it('finds an sdist version by the project name, whatever its spelling', () => {
    expect(parseSdistFilename('Foo.Bar-2.0rc1.tar.gz', 'foo-bar')).toEqual({ version: '2.0rc1' });
    expect(parseSdistFilename('foo-bar-baz-1.0.zip', 'foo-bar-baz')).toEqual({ version: '1.0' });
    expect(parseSdistFilename('other-1.0.tar.gz', 'foo')).toBeUndefined();
  });
});

describe('compatibility for a target that is not this machine', () => {
  it('manylinux_2_17 accepts manylinux_2_5..2_17 and the legacy aliases, not newer glibc nor plain linux', () => {
    const plats = compatiblePlatforms('manylinux_2_17_x86_64');
    expect(plats[0]).toBe('manylinux_2_17_x86_64');
    for (const p of ['manylinux2014_x86_64', 'manylinux_2_12_x86_64', 'manylinux2010_x86_64', 'manylinux_2_5_x86_64', 'manylinux1_x86_64']) expect(plats).toContain(p);
    expect(plats).not.toContain('manylinux_2_28_x86_64');
    expect(plats).not.toContain('linux_x86_64');
    expect(plats).not.toContain('manylinux_2_17_aarch64');
    expect(fits('x-1-cp311-cp311-manylinux_2_28_x86_64.whl')).toBe(false);
    expect(fits('x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl')).toBe(true);
    expect(fits('x-1-cp311-cp311-manylinux1_x86_64.whl')).toBe(true);
  });

  it('a legacy alias as the target means the same glibc', () => {
    expect(compatiblePlatforms('manylinux2014_x86_64')).toEqual(compatiblePlatforms('manylinux_2_17_x86_64'));
    // aarch64 has no manylinux1/2010, and packaging assumes glibc >= 2.17 there.
    expect(compatiblePlatforms('manylinux_2_17_aarch64')).toEqual(['manylinux_2_17_aarch64', 'manylinux2014_aarch64']);
  });

  it('abi3 wheels fit CPython from their minimum up, never below it', () => {
    expect(fits('x-1-cp38-abi3-manylinux2014_x86_64.whl')).toBe(true);
    expect(fits('x-1-cp311-abi3-manylinux2014_x86_64.whl')).toBe(true);
    expect(fits('x-1-cp312-abi3-manylinux2014_x86_64.whl')).toBe(false);
    expect(fits('x-1-cp38-abi3-manylinux2014_x86_64.whl', 'manylinux_2_17_x86_64', [3, 7])).toBe(false);
  });

  it('CPython ABI wheels need the exact interpreter version', () => {
    expect(fits('x-1-cp310-cp310-manylinux2014_x86_64.whl')).toBe(false);
    expect(fits('x-1-cp312-cp312-manylinux2014_x86_64.whl')).toBe(false);
    expect(fits('x-1-pp311-pypy311_pp73-manylinux2014_x86_64.whl')).toBe(false);
  });

  it('pure wheels: py3-none-any, py2.py3, py311, and not py2-only', () => {
    expect(fits('x-1-py3-none-any.whl')).toBe(true);
    expect(fits('x-1-py2.py3-none-any.whl')).toBe(true);
    expect(fits('x-1-py311-none-any.whl')).toBe(true);
    expect(fits('x-1-cp311-none-any.whl')).toBe(true);
    expect(fits('x-1-py2-none-any.whl')).toBe(false);
    expect(fits('x-1-py3-none-any.whl', 'any')).toBe(true);
    expect(fits('x-1-cp311-cp311-manylinux2014_x86_64.whl', 'any')).toBe(false);
  });

  it('other platforms do not leak into a Linux target', () => {
    expect(fits('x-1-cp311-cp311-win_amd64.whl')).toBe(false);
    expect(fits('x-1-cp311-cp311-macosx_11_0_arm64.whl')).toBe(false);
    expect(fits('x-1-cp311-cp311-win_amd64.whl', 'win_amd64')).toBe(true);
    expect(fits('x-1-cp311-cp311-macosx_10_9_universal2.whl', 'macosx_11_0_arm64')).toBe(false);
    expect(fits('x-1-cp311-cp311-macosx_11_0_universal2.whl', 'macosx_12_0_arm64')).toBe(true);
    expect(fits('x-1-cp311-cp311-musllinux_1_1_x86_64.whl', 'musllinux_1_2_x86_64')).toBe(true);
    expect(fits('x-1-cp311-cp311-manylinux2014_x86_64.whl', 'musllinux_1_2_x86_64')).toBe(false);
  });

  it('ranks the platform wheel above abi3 above pure', () => {
    const r = target('manylinux_2_17_x86_64');
    const rank = (f: string) => r.of(parseWheelFilename(f)!)!;
    expect(rank('x-1-cp311-cp311-manylinux2014_x86_64.whl')).toBeLessThan(rank('x-1-cp38-abi3-manylinux2014_x86_64.whl'));
    expect(rank('x-1-cp38-abi3-manylinux2014_x86_64.whl')).toBeLessThan(rank('x-1-py3-none-any.whl'));
    expect(rank('x-1-cp311-cp311-manylinux_2_17_x86_64.whl')).toBeLessThan(rank('x-1-cp311-cp311-manylinux1_x86_64.whl'));
  });
});
