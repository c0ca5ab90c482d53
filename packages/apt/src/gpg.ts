import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TrustError, UsageError, gpgv, signWithKey, writeKeyring } from '@airgap/core';

/**
 * Keyring files as gpgv can read them. gpgv reads only binary keyrings, while apt also takes `.asc`
 * files and deb822 inline keys (sources.list(5) Signed-By), so armored input is converted into `work`
 * (core gpg wrapper).
 */
export async function prepareKeyrings(keyrings: { files: string[] } | { armored: string }, work: string): Promise<string[]> {
  const inputs: (string | Buffer)[] = 'armored' in keyrings ? [Buffer.from(keyrings.armored)] : keyrings.files;
  const out: string[] = [];
  for (const [i, input] of inputs.entries()) {
    const label = typeof input === 'string' ? input : 'Signed-By (inline)';
    const dest = join(work, `keyring-${i}.gpg`);
    let r: Awaited<ReturnType<typeof writeKeyring>>;
    try {
      r = await writeKeyring(input, dest, work);
    } catch (e) {
      throw new UsageError(`apt keyring ${label} cannot be read`, { subject: label, hint: 'check the keyring path (or Signed-By) and that the file is readable', cause: e });
    }
    if (!r.ok) throw new UsageError(`apt keyring ${label} is not an OpenPGP key: ${r.why}`, { subject: label });
    out.push(dest);
  }
  return out;
}

export interface VerifiedSignature {
  /** The signed text: the body of a clearsigned InRelease, or the Release file. */
  text: string;
  /** Fingerprint of the key that made the signature (gpgv VALIDSIG). */
  fingerprint: string;
}

/**
 * Check an apt Release signature with gpgv against exactly the given keyrings (docs/reference/repo-formats.md §3:
 * `gpgv --keyring k.gpg InRelease`), in an empty home so no keyring of the user running airgap adds
 * trust. For a clearsigned file (no `detached`) the authenticated body comes from gpgv's own `--output`,
 * never from our parse of the armor, so text outside the signature cannot slip in. A signature that
 * gpgv accepts but marks expired or revoked is refused too, as apt does.
 */
export async function verifyRelease(opts: { signed: string; detached?: string; keyrings: string[]; url: string; keyringLabel: string; work: string }): Promise<VerifiedSignature> {
  const home = join(opts.work, 'gpgv-home');
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { mode: 0o700 });
  const v = await gpgv({ signed: opts.signed, detached: opts.detached, keyrings: opts.keyrings, home });
  if (!v.ok || !v.fingerprint) {
    throw new TrustError(`apt Release signature of ${opts.url} does not verify with keyring ${opts.keyringLabel}: ${v.why}`, {
      subject: opts.url,
      hint: 'use the keyring of the archive that signs this Release (manifest keyring, or the source Signed-By); never disable the check',
    });
  }
  const text = opts.detached ? await readFile(opts.signed, 'utf8') : (v.text as string);
  return { text, fingerprint: v.fingerprint };
}

export interface ReleaseSignatures {
  fingerprint: string;
  /** Clearsigned Release (InRelease). */
  inRelease: string;
  /** Armored detached signature (Release.gpg). */
  releaseGpg: string;
  /** The public key, binary (for `signed-by=`) and armored. */
  publicKey: Buffer;
  publicKeyArmored: string;
}

/**
 * Sign a Release with the inside archive key (`targets.<t>.apt.gpgKey`), as docs/reference/repo-formats.md §3 says:
 * `gpg --clearsign -o InRelease` and `gpg -abs -o Release.gpg`, in a private GNUPGHOME; both signatures are
 * checked against the exported public key before they are returned (core gpg wrapper).
 */
export async function signRelease(release: string, keyFile: string, passphrase: string | undefined): Promise<ReleaseSignatures> {
  const s = await signWithKey(keyFile, passphrase, [{ file: release, mode: 'clearsign' }, { file: release, mode: 'detach' }], 'apt gpgKey');
  return { fingerprint: s.fingerprint, inRelease: s.signatures[0], releaseGpg: s.signatures[1], publicKey: s.publicKey, publicKeyArmored: s.publicKeyArmored };
}
