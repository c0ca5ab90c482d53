import { describe, expect, it } from 'vitest';
import { type TreeEntry, landingPath, selectEntries, unsafeRel } from './tree.js';

const e = (rel: string, mtime: number): TreeEntry => ({ rel, size: 1, mtime });

describe('selectEntries', () => {
  const tree = [e('etcd/snap-01.db', 1), e('etcd/snap-02.db', 2), e('etcd/snap-03.db', 3), e('etcd/.partial.db', 9), e('etcd/notes.txt', 5), e('scratch/x.db', 4)];

  it('keeps everything without include/exclude/newest, in path order', () => {
    expect(selectEntries([...tree].reverse(), {}).map((x) => x.rel)).toEqual([...tree.map((x) => x.rel)].sort());
  });

  it('include and exclude are globs on the path below the tree, dotfiles included', () => {
    expect(selectEntries(tree, { include: ['**/*.db'], exclude: ['scratch/**', '**/.partial*'] }).map((x) => x.rel)).toEqual(['etcd/snap-01.db', 'etcd/snap-02.db', 'etcd/snap-03.db']);
    expect(selectEntries(tree, { include: ['*.db'] })).toEqual([]);
  });

  it('newest: N takes the N most recently modified after include/exclude; ties go to the later path', () => {
    expect(selectEntries(tree, { include: ['**/*.db'], exclude: ['**/.partial*'], newest: 2 }).map((x) => x.rel)).toEqual(['etcd/snap-03.db', 'scratch/x.db']);
    const tie = [e('a', 7), e('c', 7), e('b', 7)];
    expect(selectEntries(tie, { newest: 2 }).map((x) => x.rel)).toEqual(['b', 'c']);
  });
});

describe('landingPath', () => {
  it('puts the tree under path, or at the top for ./ and an empty S3 prefix', () => {
    expect(landingPath('backups/etcd/', 'snap-1.db')).toBe('backups/etcd/snap-1.db');
    expect(landingPath('etcd', 'a/b')).toBe('etcd/a/b');
    expect(landingPath('./', 'backups/x.json')).toBe('backups/x.json');
    expect(landingPath('', 'backups/x.json')).toBe('backups/x.json');
  });

  it('refuses a path: that leaves the mirror', () => {
    expect(() => landingPath('../etc', 'passwd')).toThrow(/not a safe relative path/);
  });
});

describe('unsafeRel', () => {
  it('flags S3 keys that would not land where they say', () => {
    for (const bad of ['', '/abs', 'a//b', 'a/./b', '../up', 'a/..', 'a\\b']) expect(unsafeRel(bad), bad).toBe(true);
    for (const ok of ['a', 'backups/b1/velero-backup.json', 'kopia/default/p0f00', '.hidden/x']) expect(unsafeRel(ok), ok).toBe(false);
  });
});
