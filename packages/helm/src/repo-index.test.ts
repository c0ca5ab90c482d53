import { describe, expect, it } from 'vitest';
import { UsageError } from '@airgap/core';
import { pickVersion, resolveChartUrl } from './repo-index.js';
import { chartFileName } from './chart-file.js';
import { repositoryOf } from './chart-images.js';

describe('resolveChartUrl (Helm ResolveReferenceURL)', () => {
  it.each([
    ['https://h/charts', 'web-1.0.0.tgz', 'https://h/charts/web-1.0.0.tgz'],
    ['https://h/charts/', 'web-1.0.0.tgz', 'https://h/charts/web-1.0.0.tgz'],
    ['https://h/charts', 'pkg/web-1.0.0.tgz', 'https://h/charts/pkg/web-1.0.0.tgz'],
    ['https://h/charts?token=s3cr', 'web-1.0.0.tgz', 'https://h/charts/web-1.0.0.tgz?token=s3cr'],
    ['https://h/charts', '/abs/web-1.0.0.tgz', 'https://h/abs/web-1.0.0.tgz'],
    ['https://h/charts', 'https://cdn.example/web-1.0.0.tgz', 'https://cdn.example/web-1.0.0.tgz'],
    ['https://h/charts?token=s3cr', 'https://cdn.example/web-1.0.0.tgz?x=1', 'https://cdn.example/web-1.0.0.tgz?x=1'],
  ])('%s + %s → %s', (repo, ref, want) => {
    expect(resolveChartUrl(repo, ref).toString()).toBe(want);
  });
});

describe('pickVersion', () => {
  const index = { url: 'https://h/index.yaml', entries: { web: ['1.0.0', '1.2.0', '1.10.1', '2.0.0-rc.1', '1.9.0-beta.2', 'not-semver'].map((version) => ({ name: 'web', version })) } };
  it.each([
    [undefined, false, '1.10.1'],
    ['*', true, '2.0.0-rc.1'],
    ['1.x', false, '1.10.1'],
    ['~1.2.0', false, '1.2.0'],
    ['1.2.0', false, '1.2.0'],
    ['2.0.0-rc.1', false, '2.0.0-rc.1'],
    ['>=2.0.0-rc.0', false, '2.0.0-rc.1'],
    ['>=1.9.0-beta.0 <1.10.0', false, '1.9.0-beta.2'],
    ['<1.10.0', false, '1.2.0'],
    ['<1.10.0', true, '1.9.0-beta.2'],
  ] as const)('%s (prerelease %s) → %s', (range, pre, want) => {
    expect(pickVersion(index, 'web', range, pre).version).toBe(want);
  });
  it('no match names the chart, the range and the newest versions', () => {
    expect(() => pickVersion(index, 'web', '3.x', false)).toThrow(UsageError);
    expect(() => pickVersion(index, 'web', '3.x', false)).toThrow(/chart web: no version matches 3.x in https:\/\/h\/index.yaml \(newest: 2.0.0-rc.1, 1.10.1/);
    expect(() => pickVersion(index, 'nope', '1.0.0', false)).toThrow(/chart nope is not in https:\/\/h\/index.yaml/);
    expect(() => pickVersion(index, 'web', 'latest please', false)).toThrow(UsageError);
  });
});

describe('names', () => {
  it('chart file names are safe', () => {
    expect(chartFileName('web', '1.0.0+build.1')).toBe('web-1.0.0+build.1.tgz');
    expect(() => chartFileName('../x', '1.0.0')).toThrow(UsageError);
    expect(() => chartFileName('web', '1/../../x')).toThrow(UsageError);
  });
  it.each([
    ['nginx', 'nginx'], ['nginx:1.25', 'nginx'], ['r:5000/a/b:1', 'r:5000/a/b'], ['r:5000/a/b', 'r:5000/a/b'],
    ['r/a@sha256:' + 'a'.repeat(64), 'r/a'], ['r/a:1@sha256:' + 'a'.repeat(64), 'r/a'],
  ])('repositoryOf(%s) = %s', (ref, want) => expect(repositoryOf(ref)).toBe(want));
});
