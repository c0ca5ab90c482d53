import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { TrustError, UsageError } from '@airgap/core';

const isArmored = (b: Buffer) => b.subarray(0, 200).toString('latin1').includes('-----BEGIN PGP');

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'airgap-yum-gpg-'));
  try {
    return await fn(dir);
  } finally {
    // gpg starts a gpg-agent per home (importing a secret key does); it outlives the command and holds an
    // inotify instance on the folder, so stop it before the folder goes.
    await execa('gpgconf', ['--homedir', dir, '--kill', 'all'], { reject: false });
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Check `repomd.xml` against its detached `repomd.xml.asc` with the repository key (dnf's
 * repo_gpgcheck, docs/reference/repo-formats.md §4), through gpgv and a keyring made from the key alone in a temporary
 * folder: nothing from the host's keyrings is trusted. Any failure is a TrustError naming repomd.xml.
 */
export async function verifyRepomd(repomd: Buffer, signature: Buffer, key: Buffer, what: { url: string; key: string }): Promise<void> {
  await withTempDir(async (dir) => {
    const keyring = join(dir, 'keyring.gpg');
    if (isArmored(key)) {
      const r = await execa('gpg', ['--homedir', dir, '--batch', '--no-options', '--dearmor', '--output', keyring], { input: key, reject: false });
      if (r.exitCode !== 0) throw new UsageError(`yum gpgkey ${what.key} is not an OpenPGP public key: ${lastLine(r.stderr)}`, { subject: what.key, hint: 'give the repository key as published (RPM-GPG-KEY-…)' });
    } else {
      await writeFile(keyring, key);
    }
    await writeFile(join(dir, 'repomd.xml'), repomd);
    await writeFile(join(dir, 'repomd.xml.asc'), signature);
    const r = await execa('gpgv', ['--homedir', dir, '--keyring', keyring, join(dir, 'repomd.xml.asc'), join(dir, 'repomd.xml')], { reject: false });
    if (r.exitCode !== 0) {
      throw new TrustError(`${what.url}: repomd.xml signature does not verify with ${what.key}: ${lastLine(r.stderr)}`, {
        subject: what.url,
        hint: 'the repository metadata is not signed by that key: check gpgkey in the manifest, or distrust this mirror',
      });
    }
  });
}

/**
 * Sign `file` with the inside key (`targets.<t>.yum.gpgKey`): a detached armored signature next to it
 * (`repomd.xml.asc`, docs/design.md and docs/reference/repo-formats.md §4 pitfall 3: regenerated metadata must be re-signed),
 * plus the public key as `repomd.xml.key` for `.repo` files' gpgkey=. The key is imported into a private
 * GNUPGHOME that is removed afterwards.
 */
export async function signDetached(file: string, keyFile: string, passphrase: string | undefined): Promise<void> {
  await withTempDir(async (home) => {
    const gpg = (args: string[], input?: string) => execa('gpg', ['--homedir', home, '--batch', '--no-options', '--no-tty', ...args], { reject: false, input });
    const imp = await gpg(['--pinentry-mode', 'loopback', ...(passphrase === undefined ? [] : ['--passphrase-fd', '0']), '--import', keyFile], passphrase);
    if (imp.exitCode !== 0) throw new UsageError(`yum gpgKey ${keyFile} cannot be imported: ${lastLine(imp.stderr)}`, { subject: keyFile, hint: 'export it with gpg --export-secret-keys --armor KEYID > FILE' });
    const list = await gpg(['--with-colons', '--list-secret-keys']);
    const fpr = String(list.stdout).split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9];
    if (!fpr) throw new UsageError(`yum gpgKey ${keyFile} holds no secret key`, { subject: keyFile, hint: 'export the secret key (gpg --export-secret-keys), not only the public one' });
    const sig = `${file}.asc`;
    await rm(sig, { force: true });
    const r = await gpg(['--pinentry-mode', 'loopback', ...(passphrase === undefined ? [] : ['--passphrase-fd', '0']), '--local-user', fpr, '--digest-algo', 'SHA256', '--armor', '--detach-sign', '--output', sig, file], passphrase);
    if (r.exitCode !== 0) throw new UsageError(`signing ${file} with ${keyFile} failed: ${lastLine(r.stderr)}`, { subject: keyFile, hint: 'check the key and passphraseEnv' });
    const pub = await gpg(['--armor', '--export', fpr]);
    if (pub.exitCode !== 0) throw new UsageError(`exporting the public key of ${keyFile} failed: ${lastLine(pub.stderr)}`, { subject: keyFile });
    await writeFile(`${file}.key`, String(pub.stdout) + '\n');
  });
}

function lastLine(s: unknown): string {
  return String(s ?? '').trim().split('\n').filter(Boolean).pop() ?? '';
}
