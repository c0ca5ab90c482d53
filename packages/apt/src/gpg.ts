import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { TargetError, TrustError, UsageError } from '@airgap/core';

/** A private, empty temporary folder (mode 0700, as gpg wants its home) removed by `dispose`. */
export async function privateTempDir(prefix: string): Promise<{ path: string; dispose(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, dispose: () => rm(path, { recursive: true, force: true }) };
}

async function isArmored(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await fh.read(buf, 0, 64, 0);
    return buf.subarray(0, bytesRead).toString('latin1').trimStart().startsWith('-----BEGIN PGP');
  } finally {
    await fh.close();
  }
}

/**
 * Keyring files as gpgv can read them. gpgv reads only binary keyrings, while apt also takes `.asc`
 * files and deb822 inline keys (sources.list(5) Signed-By), so armored input is converted with
 * `gpg --dearmor` into `work`.
 */
export async function prepareKeyrings(keyrings: { files: string[] } | { armored: string }, work: string): Promise<string[]> {
  const out: string[] = [];
  const inputs: string[] = [];
  if ('armored' in keyrings) {
    const f = join(work, 'inline-key.asc');
    await writeFile(f, keyrings.armored);
    inputs.push(f);
  } else {
    inputs.push(...keyrings.files);
  }
  for (const [i, file] of inputs.entries()) {
    let armored: boolean;
    try {
      armored = await isArmored(file);
    } catch (e) {
      throw new UsageError(`apt keyring ${file} cannot be read`, { subject: file, hint: 'check the keyring path (or Signed-By) and that the file is readable', cause: e });
    }
    if (!armored) {
      out.push(file);
      continue;
    }
    const dest = join(work, `keyring-${i}.gpg`);
    const r = await execa('gpg', ['--batch', '--no-options', '--homedir', work, '--yes', '--output', dest, '--dearmor', file], { reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0) throw new UsageError(`apt keyring ${file} is not an OpenPGP key: ${String(r.stderr).trim()}`, { subject: file });
    out.push(dest);
  }
  return out;
}

/** gpgv's status keywords (doc/DETAILS of GnuPG) in an operator's words. */
function statusWords(keyword: string, keyId: string): string {
  switch (keyword) {
    case 'NO_PUBKEY':
    case 'ERRSIG':
      return `signed by key ${keyId || '(unknown)'}, which the keyring does not hold (${keyword})`;
    case 'BADSIG':
      return `bad signature by key ${keyId}: the file was changed after it was signed (BADSIG)`;
    case 'EXPKEYSIG':
      return `the signing key ${keyId} has expired (EXPKEYSIG)`;
    case 'REVKEYSIG':
      return `the signing key ${keyId} was revoked (REVKEYSIG)`;
    default:
      return `the signature has expired (${keyword})`;
  }
}

export interface VerifiedSignature {
  /** The signed text: the body of a clearsigned InRelease, or the Release file. */
  text: string;
  /** Fingerprint of the key that made the signature (gpgv VALIDSIG). */
  fingerprint: string;
}

/**
 * Check an apt Release signature with gpgv against exactly the given keyrings (docs/reference/repo-formats.md §3:
 * `gpgv --keyring k.gpg InRelease`). gpgv runs with an empty home so no keyring of the user running
 * airgap adds trust. For a clearsigned file (no `detached`) the authenticated body comes from gpgv's
 * own `--output`, never from our parse of the armor, so text outside the signature cannot slip in.
 * A signature that gpgv accepts but marks expired or revoked is refused too, as apt does.
 */
export async function verifyRelease(opts: { signed: string; detached?: string; keyrings: string[]; url: string; keyringLabel: string; work: string }): Promise<VerifiedSignature> {
  const out = join(opts.work, `verified-${Math.random().toString(16).slice(2)}`);
  const home = join(opts.work, 'gpgv-home');
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { mode: 0o700 });
  const args = ['--homedir', home, '--status-fd', '1'];
  for (const k of opts.keyrings) args.push('--keyring', k);
  if (opts.detached) args.push(opts.detached, opts.signed);
  else args.push('--output', out, opts.signed);
  const r = await execa('gpgv', args, { reject: false, stdin: 'ignore', env: { LC_ALL: 'C' } });
  const status = String(r.stdout);
  const bad = /^\[GNUPG:\] (BADSIG|ERRSIG|EXPKEYSIG|REVKEYSIG|EXPSIG|NO_PUBKEY)\b ?(\S*)/m.exec(status);
  const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]{40,64})/m.exec(status);
  if (r.exitCode !== 0 || bad || !valid || !/^\[GNUPG:\] GOODSIG /m.test(status)) {
    const why = bad ? statusWords(bad[1], bad[2]) : String(r.stderr).trim().split('\n').pop() || `gpgv exit ${r.exitCode}`;
    throw new TrustError(`apt Release signature of ${opts.url} does not verify with keyring ${opts.keyringLabel}: ${why}`, {
      subject: opts.url,
      hint: 'use the keyring of the archive that signs this Release (manifest keyring, or the source Signed-By); never disable the check',
    });
  }
  const text = opts.detached ? await readFile(opts.signed, 'utf8') : await readFile(out, 'utf8');
  return { text, fingerprint: valid[1] };
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
 * `gpg --clearsign -o InRelease` and `gpg -abs -o Release.gpg`. gpg runs in a fresh, private
 * GNUPGHOME so nothing of the operator's keyrings is used or changed, and its agent is stopped after.
 */
export async function signRelease(release: string, keyFile: string, passphrase: string | undefined): Promise<ReleaseSignatures> {
  const home = await privateTempDir('airgap-gpg-');
  const gpg = (args: string[], input?: string) =>
    execa('gpg', ['--batch', '--no-options', '--homedir', home.path, ...args], { reject: false, input: input ?? '', env: { LC_ALL: 'C' } });
  try {
    const imp = await gpg(['--import', keyFile]);
    if (imp.exitCode !== 0) throw new UsageError(`apt gpgKey ${keyFile} cannot be imported: ${String(imp.stderr).trim().split('\n').pop()}`, { subject: keyFile, hint: 'export it with gpg --export-secret-keys --armor KEYID > FILE' });
    const list = await gpg(['--with-colons', '--list-secret-keys']);
    const fpr = /^sec:[^\n]*\nfpr:(?:[^:]*:){8}([0-9A-F]+):/m.exec(String(list.stdout))?.[1];
    if (!fpr) throw new UsageError(`apt gpgKey ${keyFile} holds no secret key`, { subject: keyFile, hint: 'export the secret key (gpg --export-secret-keys), not only the public one' });
    const pass = passphrase === undefined ? [] : ['--passphrase-fd', '0'];
    const sign = async (mode: string[], what: string) => {
      const r = await gpg(['--pinentry-mode', 'loopback', ...pass, '--local-user', fpr, '--digest-algo', 'SHA512', ...mode, release], passphrase);
      if (r.exitCode !== 0) throw new UsageError(`signing the apt Release (${what}) with ${keyFile} failed: ${String(r.stderr).trim().split('\n').pop()}`, { subject: keyFile, hint: 'check the key and passphraseEnv' });
      return String(r.stdout);
    };
    const inRelease = await sign(['--clearsign', '--output', '-'], 'InRelease');
    const releaseGpg = await sign(['--armor', '--detach-sign', '--output', '-'], 'Release.gpg');
    // `gpg --export` exits 0 with no output when it finds nothing; an empty keyring would leave clients
    // with NO_PUBKEY for a mirror we just signed. Check what came out, and try once more before failing.
    const exportKey = async (armor: boolean): Promise<Buffer> => {
      for (let attempt = 0; attempt < 2; attempt++) {
        const r = await execa('gpg', ['--batch', '--no-options', '--homedir', home.path, ...(armor ? ['--armor'] : []), '--export', fpr], { encoding: 'buffer', stdin: 'ignore', reject: false, env: { LC_ALL: 'C' } });
        const out = Buffer.from(r.stdout);
        if (r.exitCode === 0 && out.length > 0) return out;
      }
      throw new TargetError(`exporting the public key ${fpr} of apt gpgKey ${keyFile} gave nothing`, { subject: keyFile, hint: 'run the unpack again; if it persists, check the key file with gpg --show-keys' });
    };
    const publicKey = await exportKey(false);
    const publicKeyArmored = (await exportKey(true)).toString('utf8');
    return { fingerprint: fpr, inRelease, releaseGpg, publicKey, publicKeyArmored };
  } finally {
    await execa('gpgconf', ['--homedir', home.path, '--kill', 'gpg-agent'], { reject: false, stdin: 'ignore' });
    await home.dispose();
  }
}
