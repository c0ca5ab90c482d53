import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrustError, UsageError } from '@airgap/core';
import { signDetached, verifyRepomd } from './gpg.js';
import { gpgvCheck } from '../../../test/harness/gpgv.js';

let dir: string;
let home: string;
let secretKey: string;
let publicKey: string;
const gpg = (args: string[]) => execa('gpg', ['--homedir', home, '--batch', '--no-tty', '--pinentry-mode', 'loopback', ...args]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-yum-gpg-test-'));
  home = join(dir, 'home');
  await execa('mkdir', ['-m', '700', home]);
  await gpg(['--passphrase', 'right horse', '--quick-gen-key', 'yum mirror <yum@test.invalid>', 'ed25519', 'sign', 'never']);
  secretKey = join(dir, 'sec.asc');
  publicKey = join(dir, 'pub.gpg');
  await gpg(['--passphrase', 'right horse', '--armor', '--output', secretKey, '--export-secret-keys', 'yum@test.invalid']);
  await gpg(['--output', publicKey, '--export', 'yum@test.invalid']);
});
afterAll(async () => {
  await execa('gpgconf', ['--homedir', home, '--kill', 'all'], { reject: false });
  await rm(dir, { recursive: true, force: true });
});

describe('signDetached / verifyRepomd', () => {
  it('signs with a passphrase-protected key in a private home; gpgv and verifyRepomd (binary key) accept it', async () => {
    const repomd = join(dir, 'repomd.xml');
    await writeFile(repomd, '<repomd/>\n');
    await signDetached(repomd, secretKey, 'right horse');
    const v = await gpgvCheck(publicKey, `${repomd}.asc`, repomd);
    expect(v.exitCode, String(v.stderr)).toBe(0);
    const key = await readFile(publicKey);
    await verifyRepomd(await readFile(repomd), await readFile(`${repomd}.asc`), key, { url: 'repomd.xml', key: 'pub.gpg' });
    // the exported public key (repomd.xml.key) is the signing key, armored
    const exported = await readFile(`${repomd}.key`);
    expect(exported.toString()).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    await verifyRepomd(await readFile(repomd), await readFile(`${repomd}.asc`), exported, { url: 'repomd.xml', key: 'repomd.xml.key' });
    // other bytes under the same signature do not verify
    await expect(verifyRepomd(Buffer.from('<repomd>x</repomd>\n'), await readFile(`${repomd}.asc`), key, { url: 'repomd.xml', key: 'pub.gpg' })).rejects.toBeInstanceOf(TrustError);
  });

  it('refuses a wrong passphrase, a public-only key file, and a gpgkey that is no key, naming the key', async () => {
    const file = join(dir, 'other.xml');
    await writeFile(file, 'x');
    await expect(signDetached(file, secretKey, 'wrong horse')).rejects.toThrow(new RegExp(`${secretKey}`));
    await expect(signDetached(file, secretKey, 'wrong horse')).rejects.toBeInstanceOf(UsageError);
    await expect(signDetached(file, publicKey, undefined)).rejects.toThrow(/holds no secret key/);
    const junk = Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n');
    await expect(verifyRepomd(Buffer.from('x'), Buffer.from('y'), junk, { url: 'repomd.xml', key: 'junk.asc' })).rejects.toThrow(/junk\.asc is not an OpenPGP public key/);
  });
});
