import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfinedRoot } from './confined-root.js';
import { IntegrityError, TargetError } from './errors.js';

const base = await mkdtemp(join(tmpdir(), 'airgap-confined-'));
afterAll(() => rm(base, { recursive: true, force: true }));

let mirror: string;
let outside: string;
let n = 0;

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) out.push(join(e.parentPath, e.name).slice(dir.length));
  return out.sort();
}

beforeEach(async () => {
  const d = join(base, String(n++));
  mirror = join(d, 'mirror');
  outside = join(d, 'outside');
  await mkdir(mirror, { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, 'Release'), 'keep');
});

describe('ConfinedRoot (docs/security.md: every dir publisher write goes through it)', () => {
  it('writes, renames, reads and removes inside the mirror', async () => {
    const r = new ConfinedRoot(mirror).under('apt');
    await r.writeFile('dists/x/Release', 'a');
    await r.writeStream('pool/f.deb', Readable.from([Buffer.from('deb')]));
    await r.rename('dists/x/Release', 'dists/x/Release.old');
    expect(await r.readFile('dists/x/Release.old', 'utf8')).toBe('a');
    expect(await r.readFile('dists/x/Release', 'utf8')).toBeUndefined();
    expect((await r.stat('pool/f.deb'))?.size).toBe(3);
    expect(await r.digest('pool/f.deb')).toMatch(/^sha256:[a-f0-9]{64}$/);
    await r.rm('dists', { recursive: true });
    expect(await tree(join(mirror, 'apt'))).toEqual(['/pool', '/pool/f.deb']);
  });

  for (const bad of ['../outside/Release', '/etc/passwd', 'a/../../outside/Release', 'a//b', './a', 'a\nb', 'a\u0000b', 'a\\..\\b', '..']) {
    it(`refuses ${JSON.stringify(bad)} for every operation, before touching anything`, async () => {
      const r = new ConfinedRoot(mirror).under('apt');
      const ops = [
        () => r.writeFile(bad, 'x'), () => r.writeStream(bad, Readable.from([Buffer.from('x')])), () => r.mkdir(bad), () => r.rm(bad, { recursive: true }),
        () => r.rename(bad, 'ok'), () => r.rename('ok', bad), () => r.readFile(bad), () => r.stat(bad), () => r.readdir(bad), () => r.digest(bad),
      ];
      for (const op of ops) await expect(op()).rejects.toBeInstanceOf(IntegrityError);
      expect(await readFile(join(outside, 'Release'), 'utf8')).toBe('keep');
      expect(await tree(outside)).toEqual(['/Release']);
    });
  }

  it('refuses to write, mkdir, read or list through a symlink inside the mirror that points outside', async () => {
    await mkdir(join(mirror, 'apt', 'dists'), { recursive: true });
    await symlink(outside, join(mirror, 'apt', 'dists', 'stable'));
    const r = new ConfinedRoot(mirror).under('apt');
    await expect(r.writeFile('dists/stable/Release', 'evil')).rejects.toBeInstanceOf(TargetError);
    await expect(r.writeFile('dists/stable/new/Packages', 'evil')).rejects.toBeInstanceOf(TargetError);
    await expect(r.mkdir('dists/stable')).rejects.toBeInstanceOf(TargetError);
    await expect(r.rm('dists/stable/Release')).rejects.toBeInstanceOf(TargetError);
    await expect(r.readFile('dists/stable/Release')).rejects.toBeInstanceOf(TargetError);
    await expect(r.readdir('dists/stable')).rejects.toBeInstanceOf(TargetError);
    expect(await readFile(join(outside, 'Release'), 'utf8')).toBe('keep');
    expect(await tree(outside)).toEqual(['/Release']);
  });

  it('a symlink in the last place is replaced or removed itself, never written through', async () => {
    await mkdir(join(mirror, 'files'), { recursive: true });
    await symlink(join(outside, 'Release'), join(mirror, 'files', 'a'));
    await symlink(join(outside, 'Release'), join(mirror, 'files', 'b'));
    const r = new ConfinedRoot(mirror).under('files');
    await expect(r.readFile('a')).rejects.toBeInstanceOf(TargetError);
    await r.writeFile('a', 'new');
    await r.rm('b');
    expect((await lstat(join(mirror, 'files', 'a'))).isSymbolicLink()).toBe(false);
    expect(await readFile(join(mirror, 'files', 'a'), 'utf8')).toBe('new');
    expect(await readFile(join(outside, 'Release'), 'utf8')).toBe('keep');
  });

  it('follows symlinks that stay inside the mirror (an operator may link folders)', async () => {
    await mkdir(join(mirror, 'store'), { recursive: true });
    await mkdir(join(mirror, 'apt'), { recursive: true });
    await symlink(join(mirror, 'store'), join(mirror, 'apt', 'pool'));
    const r = new ConfinedRoot(mirror).under('apt');
    await r.writeFile('pool/x.deb', 'deb');
    expect(await readFile(join(mirror, 'store', 'x.deb'), 'utf8')).toBe('deb');
  });
});
