import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { UsageError } from '@airgap/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gpgvCheck } from '../../../test/harness/gpgv.js';
import { prepareKeyrings, signRelease, verifyRelease } from './gpg.js';

let dir: string;
let home: string;
let secretKey: string;
let publicKey: string;
const RELEASE = 'Origin: test\nSuite: stable\nSHA256:\n 0000000000000000000000000000000000000000000000000000000000000000 0 main/binary-amd64/Packages\n';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-apt-gpg-'));
  home = join(dir, 'home');
  await mkdir(home, { mode: 0o700 });
  const gpg = (args: string[], input = '') => execa('gpg', ['--batch', '--no-options', '--homedir', home, '--pinentry-mode', 'loopback', ...args], { input });
  await gpg(['--passphrase', 'right horse', '--quick-gen-key', 'airgap gpg test <gpg@test.invalid>', 'ed25519', 'sign', 'never']);
  secretKey = join(dir, 'secret.asc');
  publicKey = join(dir, 'public.asc');
  await gpg(['--passphrase', 'right horse', '--armor', '--output', secretKey, '--export-secret-keys', 'gpg@test.invalid']);
  await gpg(['--armor', '--output', publicKey, '--export', 'gpg@test.invalid']);
  await writeFile(join(dir, 'Release'), RELEASE);
});

afterAll(async () => {
  await execa('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { reject: false });
  await rm(dir, { recursive: true, force: true });
});

describe('mirror signing and Release verification with gpg/gpgv', () => {
  it('signs with a passphrase-protected key in a private GNUPGHOME; gpgv and verifyRelease accept it', async () => {
    const sig = await signRelease(join(dir, 'Release'), secretKey, 'right horse');
    await writeFile(join(dir, 'InRelease'), sig.inRelease);
    await writeFile(join(dir, 'Release.gpg'), sig.releaseGpg);
    await writeFile(join(dir, 'pub.gpg'), sig.publicKey);
    const inline = await gpgvCheck(join(dir, 'pub.gpg'), join(dir, 'InRelease'));
    expect(inline.exitCode, inline.stderr).toBe(0);
    const detached = await gpgvCheck(join(dir, 'pub.gpg'), join(dir, 'Release.gpg'), join(dir, 'Release'));
    expect(detached.exitCode, detached.stderr).toBe(0);
    // An armored keyring (as apt takes .asc) is dearmored for gpgv.
    const work = join(dir, 'work1');
    await mkdir(work);
    const keyrings = await prepareKeyrings({ files: [publicKey] }, work);
    const v = await verifyRelease({ signed: join(dir, 'InRelease'), keyrings, url: 'http://x/InRelease', keyringLabel: publicKey, work });
    expect(v.text).toBe(RELEASE);
    expect(v.fingerprint).toMatch(/^[0-9A-F]{40}$/);
  });

  it('takes the signed text from gpgv, never text added around the signature', async () => {
    const sig = await signRelease(join(dir, 'Release'), secretKey, 'right horse');
    const smuggled = 'Origin: evil\nSHA256:\n ' + 'f'.repeat(64) + ' 1 main/binary-amd64/Packages\n\n' + sig.inRelease + '\nX-After: 1\n';
    await writeFile(join(dir, 'InRelease-extra'), smuggled);
    const work = join(dir, 'work2');
    await mkdir(work);
    const keyrings = await prepareKeyrings({ armored: await readFile(publicKey, 'utf8') }, work);
    const v = await verifyRelease({ signed: join(dir, 'InRelease-extra'), keyrings, url: 'http://x/InRelease', keyringLabel: 'inline', work }).catch((e: unknown) => e);
    expect(v).not.toBeInstanceOf(Error);
    expect((v as { text: string }).text).toBe(RELEASE);
  });

  it('refuses a wrong passphrase and a public-only key file with a usage error naming the key', async () => {
    const wrong = await signRelease(join(dir, 'Release'), secretKey, 'wrong horse').catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(UsageError);
    expect((wrong as Error).message).toContain(secretKey);
    const pubOnly = await signRelease(join(dir, 'Release'), publicKey, undefined).catch((e: unknown) => e);
    expect(pubOnly).toBeInstanceOf(UsageError);
    expect((pubOnly as Error).message).toMatch(/holds no secret key/);
  });
});
