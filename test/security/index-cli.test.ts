import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SecretKey } from '@airgap/bundle';
import { runAirgap, tempDir } from '../harness/index.js';
import { type Forged, bend, forgeBundle, goodArtifacts, signingKey, snapshot } from './forge.js';

/**
 * The "signed index" cases, through the CLI an operator runs: each bundle is validly signed by
 * the trusted key (the key holder is the attacker), and each must be refused with exit 3 by `verify`
 * and by `unpack` before anything is published, naming the artifact and field; a sentinel tree outside
 * the mirror must stay byte-for-byte the same (docs/security.md).
 */
let root: string;
let key: SecretKey;
let pub: string;
let victim: string;
let before: Map<string, string>;
const good = goodArtifacts();

beforeAll(async () => {
  root = await tempDir('airgap-sec-cli-');
  ({ key, pubFile: pub } = await signingKey(join(root, 'keys')));
  // The folder outside the mirror that the hostile suite aims at, with a signed-looking apt suite in it.
  victim = join(root, 'srv', 'victim');
  await mkdir(join(victim, 'main', 'binary-amd64'), { recursive: true });
  await writeFile(join(victim, 'Release'), 'Origin: victim\n');
  await writeFile(join(victim, 'InRelease'), 'signed\n');
  await writeFile(join(victim, 'Release.gpg'), 'sig\n');
  await writeFile(join(victim, 'x'), 'keep me\n');
  before = await snapshot(join(root, 'srv'));
});

/** Every case's mirror is at the same depth, so one relative path from inside it reaches the victim. */
const mirrorOf = (name: string) => join(root, 'mirrors', name);
/** meta.suite that makes apt/dists/<suite>/ the victim folder. */
const suiteToVictim = () => relative(join(mirrorOf('x'), 'apt', 'dists'), victim);
/** An architecture that makes dists/bookworm/main/binary-<arch>/ the victim folder ("binary-.." is a folder, the next .. leaves it). */
const archToVictim = () => `../../${relative(join(mirrorOf('x'), 'apt', 'dists', 'bookworm', 'main'), victim)}`;

async function refused(name: string, items: Forged[], field: RegExp): Promise<void> {
  const dir = await forgeBundle(join(root, 'bundles', name), key, items);
  const v = await runAirgap(['verify', dir, '--pub', pub]);
  expect(v.stderr, `verify ${name}`).toMatch(field);
  expect(v.exitCode, `verify ${name}: ${v.stderr}`).toBe(3);
  const mirror = mirrorOf(name);
  const ledger = join(root, 'ledgers', `${name}.jsonl`);
  const u = await runAirgap(['unpack', dir, '--to', `dir:${mirror}`, '--pub', pub, '--ledger', ledger]);
  expect(u.stderr, `unpack ${name}`).toMatch(field);
  expect(u.exitCode, `unpack ${name}: ${u.stderr}`).toBe(3);
  expect(await snapshot(join(root, 'srv'))).toEqual(before);
  // Nothing published, not even the good artifact next to the bad one, and no ledger record of a push.
  expect(await snapshot(mirror).catch(() => new Map())).toEqual(new Map());
  const records = (await readFile(ledger, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  expect(records.filter((r) => r.action === 'pushed')).toEqual([]);
}

describe('a signed index that aims outside the mirror is refused at verify (exit 3)', () => {
  it('apt meta.suite ../../../srv/victim (a folder outside the mirror)', async () => {
    expect(resolve(mirrorOf('x'), 'apt', 'dists', suiteToVictim())).toBe(victim);
    const a = good.apt();
    await refused('apt-suite', [{ ...a, artifact: bend(a.artifact, 'meta.suite', suiteToVictim()) }, good.file()], /apt "hello"@"2\.10-3": meta\.suite/);
  });

  it('apt meta.architectures holding ../', async () => {
    const a = good.apt();
    expect(resolve(mirrorOf('x'), 'apt', 'dists', 'bookworm', 'main', `binary-${archToVictim()}`)).toBe(victim);
    await refused('apt-arch', [{ ...a, artifact: bend(a.artifact, 'meta.architectures', ['amd64', archToVictim()]) }], /meta\.architectures\[1\]/);
  });

  it('apt suite with a newline (Release line injection)', async () => {
    const a = good.apt();
    await refused('apt-newline', [{ ...a, artifact: bend(a.artifact, 'meta.suite', 'bookworm\nSHA256:\n 00 1 evil') }], /meta\.suite .*control character or line break/);
  });

  it('apt control field with an injected stanza', async () => {
    const a = good.apt();
    await refused('apt-control', [{ ...a, artifact: bend(a.artifact, 'meta.control.Description', 'x\n\nPackage: evil\nFilename: ../../../etc/passwd') }], /meta\.control\.Description/);
  });

  for (const [name, path] of [['dotdot', '../../x'], ['absolute', '/tmp/x'], ['inner-dotdot', 'ok/../../../x']] as const) {
    it(`files meta.path ${path}`, async () => {
      const f = good.file();
      await refused(`files-${name}`, [good.file(), { ...f, artifact: bend(f.artifact, 'meta.path', path) }], /file "hello\.txt": meta\.path/);
    });
  }

  it('an artifact digest that is not its blob digest', async () => {
    const f = good.file();
    await refused('digest', [{ ...f, artifact: bend(f.artifact, 'digest', 'sha256:' + 'ab'.repeat(32)) }], /digest sha256:abab.* is not the digest of its main blob/);
  });

  it('an artifact with blobs: [] (a clean error, not a TypeError)', async () => {
    const f = good.file();
    const dir = await forgeBundle(join(root, 'bundles', 'noblobs'), key, [{ ...f, artifact: bend(f.artifact, 'blobs', []) }]);
    const v = await runAirgap(['verify', dir, '--pub', pub]);
    expect(v.stderr).toMatch(/blobs is empty/);
    expect(v.stderr).not.toMatch(/TypeError|Cannot read/);
    expect(v.exitCode).toBe(3);
  });

  it('the well-formed bundle of the same artifacts verifies and publishes (the checks refuse only what they should)', async () => {
    const dir = await forgeBundle(join(root, 'bundles', 'good'), key, [good.apt(), good.file()]);
    const mirror = join(root, 'mirrors', 'good');
    const u = await runAirgap(['unpack', dir, '--to', `dir:${mirror}`, '--pub', pub, '--ledger', join(root, 'ledgers', 'good.jsonl')]);
    expect(u.exitCode, u.stderr).toBe(0);
    expect((await stat(join(mirror, 'apt', 'dists', 'bookworm', 'Release'))).isFile()).toBe(true);
    expect(await readFile(join(mirror, 'files', 'tools', 'hello.txt'), 'utf8')).toMatch(/^hello /);
  });
});
