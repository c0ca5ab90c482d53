import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TrustError, UsageError, gpgv, signWithKey, withGpgHome, writeKeyring } from '@airgap/core';

/**
 * Check `repomd.xml` against its detached `repomd.xml.asc` with the repository key (dnf's
 * repo_gpgcheck, docs/reference/repo-formats.md §4), through gpgv and a keyring made from the key alone in a temporary
 * folder (core gpg wrapper): nothing from the host's keyrings is trusted. Any failure is a TrustError naming repomd.xml.
 */
export async function verifyRepomd(repomd: Buffer, signature: Buffer, key: Buffer, what: { url: string; key: string }): Promise<void> {
  await withGpgHome('airgap-yum-gpg-', async (dir) => {
    const keyring = join(dir, 'keyring.gpg');
    const k = await writeKeyring(key, keyring, dir);
    if (!k.ok) throw new UsageError(`yum gpgkey ${what.key} is not an OpenPGP public key: ${k.why}`, { subject: what.key, hint: 'give the repository key as published (RPM-GPG-KEY-…)' });
    await writeFile(join(dir, 'repomd.xml'), repomd);
    await writeFile(join(dir, 'repomd.xml.asc'), signature);
    const v = await gpgv({ signed: join(dir, 'repomd.xml'), detached: join(dir, 'repomd.xml.asc'), keyrings: [keyring], home: dir });
    if (!v.ok) {
      throw new TrustError(`${what.url}: repomd.xml signature does not verify with ${what.key}: ${v.why}`, {
        subject: what.url,
        hint: 'the repository metadata is not signed by that key: check gpgkey in the manifest, or distrust this mirror',
      });
    }
  });
}

/**
 * Sign `file` with the inside key (`targets.<t>.yum.gpgKey`): a detached armored signature next to it
 * (`repomd.xml.asc`, docs/design.md and docs/reference/repo-formats.md §4 pitfall 3: regenerated metadata must be re-signed),
 * plus the public key as `repomd.xml.key` for `.repo` files' gpgkey=. The signature is checked against the
 * exported key before either is written (core gpg wrapper).
 */
export async function signDetached(file: string, keyFile: string, passphrase: string | undefined): Promise<void> {
  const s = await signWithKey(keyFile, passphrase, [{ file, mode: 'detach' }], 'yum gpgKey', 'SHA256');
  await writeFile(`${file}.asc`, s.signatures[0]);
  await writeFile(`${file}.key`, s.publicKeyArmored + '\n');
}
