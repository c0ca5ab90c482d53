import { resolve } from 'node:path';
import type { AirgapConfig } from '@airgap/core';
import { type PublicKey, readPublicKey } from '@airgap/bundle';

/** The keys a bundle may be signed by: `--pub` flags if given, else `trust:` from the config (docs/security.md). */
export async function trustedKeys(pubFlags: string[] | undefined, config: AirgapConfig): Promise<PublicKey[]> {
  const files = pubFlags && pubFlags.length ? pubFlags.map((p) => resolve(p)) : (config.trust ?? []);
  return Promise.all(files.map((f) => readPublicKey(f)));
}
