import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
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

/**
 * How many times `fn` (a pack) reads `path`: inotifywait counts the file's ACCESS events (a read(2) of its
 * bytes; a stat is not one). A sentinel file read after `fn` marks the end: inotify delivers one watch's
 * events in order, so every read of the pack has been printed once the sentinel's is.
 */
async function readsOf(path: string, fn: () => Promise<unknown>): Promise<number> {
  const sentinel = join(work, 'sentinel');
  await writeFile(sentinel, 'end\n');
  const watch = execa('inotifywait', ['-m', '-e', 'access', '--format', '%w %e', path, sentinel], { buffer: false });
  let printed = ''; // stdout and stderr together: "Watches established." comes on stderr, the events on stdout
  const waiting: Array<() => void> = [];
  const more = (b: Buffer) => {
    printed += b.toString();
    for (const w of waiting) w();
  };
  watch.stdout!.on('data', more);
  watch.stderr!.on('data', more);
  const until = (text: string) =>
    new Promise<void>((resolve, reject) => {
      waiting.push(() => printed.includes(text) && resolve());
      watch.once('error', reject); // not installed: test/tools/files.json
      watch.once('exit', () => reject(new Error(`inotifywait ended before printing "${text}": ${printed}`)));
      if (printed.includes(text)) resolve();
    });
  try {
    await until('Watches established');
    await fn();
    await readFile(sentinel);
    await until(`${sentinel} ACCESS`);
  } finally {
    watch.kill();
    await watch.catch(() => undefined);
  }
  return printed.split('\n').filter((l) => l.startsWith(`${path} `)).length;
}

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
    expect(await readsOf(f, () => pack('fresh', './fresh.img'))).toBeGreaterThan(0);
    let bundle = '';
    expect(await readsOf(f, async () => (bundle = await pack('fresh', './fresh.img')))).toBeGreaterThan(0);
    expect(await carried(bundle)).toContain(sha('written just now\n'));
  });

  it('an unchanged file is not read again: the cached copy is reused as it is', async () => {
    const f = join(work, 'iso.img');
    await settle(f);
    let b1 = '';
    let b2 = '';
    expect(await readsOf(f, async () => (b1 = await pack('iso', './iso.img')))).toBeGreaterThan(0);
    expect(await readsOf(f, async () => (b2 = await pack('iso', './iso.img')))).toBe(0);
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
    let bundle = '';
    expect(await readsOf(f, async () => (bundle = await pack('iso', './iso.img')))).toBeGreaterThan(0);
    const got = await carried(bundle);
    expect(got).toContain(sha('image version 2\n'));
    expect(got).not.toContain(sha('image version 1\n'));
  });

  it('a recorded file whose cached copy was removed is read again', async () => {
    const f = join(work, 'tree', 'snap-1.db');
    await settle(f);
    await pack('tree', './tree/');
    const blob = join(cache(), 'blobs', 'sha256', sha('snapshot one\n'));
    expect(await readsOf(f, () => pack('tree', './tree/'))).toBe(0); // a folder tree's files are recorded too
    await rm(blob);
    let bundle = '';
    expect(await readsOf(f, async () => (bundle = await pack('tree', './tree/')))).toBeGreaterThan(0);
    expect(await carried(bundle)).toContain(sha('snapshot one\n'));
    expect((await stat(blob)).size).toBe('snapshot one\n'.length);
  });
});
