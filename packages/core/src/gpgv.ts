import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrustError } from './errors.js';

/**
 * Check a clearsigned file with gpgv against exactly one keyring (binary, as `gpg --export` writes it),
 * in an empty home so no keyring of the operator adds trust. Returns the authenticated body as gpgv
 * writes it with `--output` (never a parse of the armor, so text outside the signature cannot slip in).
 * Any failure — bad or unknown signature, expired or revoked key — is a TrustError (exit 3) naming `what`.
 * (apt and yum still have their own gpgv wrappers; new callers use this one.)
 */
export async function verifyClearsigned(file: string, keyring: string, what: string, hint: string): Promise<{ text: string; fingerprint: string }> {
  const home = await mkdtemp(join(tmpdir(), 'airgap-gpgv-'));
  try {
    const out = join(home, 'body');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('gpgv', ['--homedir', home, '--status-fd', '1', '--keyring', keyring, '--output', out, file], { env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as NodeJS.ErrnoException & { code?: unknown }).code === 'ENOENT' ? 127 : (err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
      );
    });
    const bad = /^\[GNUPG:\] (BADSIG|ERRSIG|EXPKEYSIG|REVKEYSIG|EXPSIG|NO_PUBKEY)\b ?(\S*)/m.exec(r.stdout);
    const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]{40,64})/m.exec(r.stdout);
    if (r.code !== 0 || bad || !valid || !/^\[GNUPG:\] GOODSIG /m.test(r.stdout)) {
      const why = bad ? `${bad[1]}${bad[2] ? ` (key ${bad[2]})` : ''}` : r.stderr.trim().split('\n').pop() || `gpgv exit ${r.code}`;
      throw new TrustError(`${what}: the PGP signature does not verify with keyring ${keyring}: ${why}`, { subject: what, hint });
    }
    return { text: await readFile(out, 'utf8'), fingerprint: valid[1] };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
