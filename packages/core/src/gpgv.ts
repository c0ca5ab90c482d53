import { TrustError } from './errors.js';
import { gpgv, withGpgHome } from './gpg.js';

/**
 * Check a clearsigned file with gpgv against exactly one keyring (binary, as `gpg --export` writes it),
 * in an empty home so no keyring of the operator adds trust (core gpg wrapper, ./gpg.ts). Returns the
 * authenticated body as gpgv writes it. Any failure — bad or unknown signature, expired or revoked key —
 * is a TrustError (exit 3) naming `what`.
 */
export async function verifyClearsigned(file: string, keyring: string, what: string, hint: string): Promise<{ text: string; fingerprint: string }> {
  return withGpgHome('airgap-gpgv-', async (home) => {
    const v = await gpgv({ signed: file, keyrings: [keyring], home });
    if (!v.ok || v.text === undefined || !v.fingerprint) {
      throw new TrustError(`${what}: the PGP signature does not verify with keyring ${keyring}: ${v.why}`, { subject: what, hint });
    }
    return { text: v.text, fingerprint: v.fingerprint };
  });
}
