/**
 * A correctly signed bundle whose tar holds hostile entries (a path with `..`, an absolute path, a
 * symlink) is refused by verify and unpack with exit 3, and nothing is written outside the target
 * (docs/security.md). The bundle is re-sealed with the trusted key, so only the tar checks can catch it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { packLocalFiles, resealBundle, runAirgap, tempDir } from '../harness/index.js';

let work: string;
let keys: string;

describe('a correctly signed bundle with hostile tar entries is refused (exit 3) and writes nothing outside the target', () => {
  let src: string;
  let root: string;

  beforeAll(async () => {
    work = await tempDir('airgap-hostile-tar-');
    keys = join(work, 'keys');
    const { bundle: pristine } = await packLocalFiles(work, { 'a.bin': randomBytes(300_000), 'b.conf': 'listen 127.0.0.1\n' }, { bundle: 'hostile', keyName: 'outside' });
    root = join(work, 'hostile');
    src = join(root, 'extracted', 'x');
    await mkdir(src, { recursive: true });
    await execa('sh', ['-c', 'cat "$1"/part-* | tar -xf - -C "$2"', 'sh', pristine, src]);
  });

  const cases: [string, () => Promise<string[]>, RegExp][] = [
    ['../escape', async () => {
      await writeFile(join(src, '..', 'escape'), 'outside');
      return ['-P', 'airgap-index.json', '../escape', 'oci-layout', 'index.json', 'blobs'];
    }, /\.\.\/escape/],
    ['an absolute path', async () => {
      await writeFile(join(src, 'abs'), 'outside');
      return ['-P', '--transform', `s,^abs$,${root}/absolute-escape,`, 'airgap-index.json', 'abs', 'oci-layout', 'index.json', 'blobs'];
    }, /absolute-escape/],
    ['a symlink', async () => {
      await symlink(join(root, 'symlink-target'), join(src, 'sym'));
      return ['airgap-index.json', 'sym', 'oci-layout', 'index.json', 'blobs'];
    }, /sym/],
  ];

  it.each(cases)('%s', async (what, tarArgs, pattern) => {
    const tag = what.replace(/[^a-z]/g, '');
    const dir = await resealBundle(src, join(root, `bundle-${tag}`), join(keys, 'outside.key'), await tarArgs(), 'hostile');
    // The seal itself is good: the independent minisign accepts it.
    expect((await execa('minisign', ['-Vm', 'bundle.json', '-p', join(keys, 'outside.pub')], { cwd: dir, reject: false })).exitCode).toBe(0);
    const before = (await readdir(root)).sort();
    const v = await runAirgap(['verify', dir, '--pub', join(keys, 'outside.pub')]);
    expect(v.exitCode, v.stderr).toBe(3);
    expect(v.stderr).toMatch(pattern);
    const target = join(root, `target-${tag}`);
    const u = await runAirgap(['unpack', dir, '--to', `dir:${target}`, '--pub', join(keys, 'outside.pub'), '--ledger', join(root, `ledger-${tag}.jsonl`)], { cwd: root });
    expect(u.exitCode, u.stderr).toBe(3);
    expect(u.stderr).toMatch(pattern);
    await expect(stat(target)).rejects.toThrow();
    expect((await readdir(root)).sort()).toEqual(before);
    await expect(stat(join(root, 'absolute-escape'))).rejects.toThrow();
    await expect(stat(join(root, 'symlink-target'))).rejects.toThrow();
  });
});
