import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, tempDir } from '../harness/index.js';

/**
 * A local file is read into the cache once (docs/manifest.md "files"): a later pack reuses the copy while
 * the file's device, inode, size and times are unchanged, and reads it again after any change.
 */
let work: string;
let keys: string;
const cache = () => join(work, 'cache');
const MTIME = 1_780_000_000;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** The cached copy's inode: a pack that reads the file again writes a new copy over it (a new inode). */
const inode = async (text: string) => (await stat(join(cache(), 'blobs', 'sha256', sha(text)))).ino;

let packs = 0;
async function pack(name: string, url: string): Promise<string> {
  const m = join(work, `${name}.yaml`);
  await writeFile(m, `apiVersion: airgap/v1\nkind: Bundle\nname: ${name}\nfiles:\n  - url: ${url}\n`);
  // Each pack its own --out: the bundle is named NAME-STAMP to the second, and two packs of one manifest
  // within a second would meet the first one's folder (exit 2, "already exists").
  const r = await runAirgap(['pack', m, '--out', join(work, `out-${++packs}`), '--key', join(keys, 'k.key'), '--cache', cache(), '--json'], { cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout).bundle as string;
}

/** The blobs the bundle carries, read from its parts with GNU tar. */
async function carried(bundle: string): Promise<string[]> {
  const parts = (await readdir(bundle)).filter((f) => /^part-\d+$/.test(f)).sort();
  const { stdout } = await execa('sh', ['-c', `cat ${parts.join(' ')} | tar -t`], { cwd: bundle });
  return stdout.split('\n').filter((l) => l.startsWith('blobs/sha256/') && l.length > 13).map((l) => l.slice(13));
}

/** Wait until the files' last change is older than the 3 s pack waits for before it records a file. */
async function settle(...paths: string[]) {
  const newest = Math.max(...(await Promise.all(paths.map(async (p) => (await stat(p)).ctimeMs))));
  await new Promise((r) => setTimeout(r, Math.max(0, newest + 3_200 - Date.now())));
}

beforeAll(async () => {
  work = await tempDir('airgap-local-cache-');
  keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'k'])).exitCode).toBe(0);
  await mkdir(join(work, 'tree'));
  await writeFile(join(work, 'iso.img'), 'image version 1\n');
  await utimes(join(work, 'iso.img'), MTIME, MTIME); // whole seconds, so that a test can put it back exactly
  await writeFile(join(work, 'tree', 'snap-1.db'), 'snapshot one\n');
  await writeFile(join(work, 'fresh.img'), 'written just now\n');
});

describe('local files in the cache', () => {
  it('a file changed within the last seconds is read again by the next pack (not recorded yet)', async () => {
    const f = join(work, 'fresh.img');
    await writeFile(f, 'written just now\n');
    await pack('fresh', './fresh.img');
    const first = await inode('written just now\n');
    expect(await carried(await pack('fresh', './fresh.img'))).toContain(sha('written just now\n'));
    expect(await inode('written just now\n')).not.toBe(first);
  });

  it('an unchanged file is not read again: the cached copy is reused as it is', async () => {
    await settle(join(work, 'iso.img'));
    const b1 = await pack('iso', './iso.img');
    const first = await inode('image version 1\n');
    const b2 = await pack('iso', './iso.img');
    expect(await inode('image version 1\n')).toBe(first);
    expect(await carried(b2)).toEqual(await carried(b1));
    expect(await carried(b2)).toContain(sha('image version 1\n'));
  });

  it('new bytes of the same size with the old mtime put back are read again: the change time moved', async () => {
    const f = join(work, 'iso.img');
    const before = await stat(f, { bigint: true });
    await writeFile(f, 'image version 2\n'); // same length as version 1
    await utimes(f, MTIME, MTIME);
    const after = await stat(f, { bigint: true });
    expect([after.size, after.ino, after.mtimeNs]).toEqual([before.size, before.ino, before.mtimeNs]);
    expect(after.ctimeNs).not.toBe(before.ctimeNs);
    const got = await carried(await pack('iso', './iso.img'));
    expect(got).toContain(sha('image version 2\n'));
    expect(got).not.toContain(sha('image version 1\n'));
  });

  it('a recorded file whose cached copy was removed is read again', async () => {
    const f = join(work, 'tree', 'snap-1.db');
    await settle(f);
    await pack('tree', './tree/');
    const blob = join(cache(), 'blobs', 'sha256', sha('snapshot one\n'));
    const first = (await stat(blob)).ino;
    await pack('tree', './tree/'); // a folder tree's files are recorded too
    expect((await stat(blob)).ino).toBe(first);
    await rm(blob);
    expect(await carried(await pack('tree', './tree/'))).toContain(sha('snapshot one\n'));
    expect((await stat(blob)).size).toBe('snapshot one\n'.length);
  });
});
