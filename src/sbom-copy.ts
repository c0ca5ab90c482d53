import { randomBytes } from 'node:crypto';
import { open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BUNDLE_NAME_PATTERN, TrustError } from '@airgap/core';
import { type VerifiedBundle, bundleStamp } from '@airgap/bundle';

/**
 * The verified bundle's SBOM, kept beside the ledger as `<name>-<stamp>.cdx.json` (docs/approval.md) so
 * the security team's scanner sees what entered. The file name comes from the signed name and time,
 * checked before it becomes a path; written under a temporary name and renamed.
 */
export async function keepSbom(bundle: VerifiedBundle, ledgerPath: string): Promise<string | null> {
  if (!bundle.sbom) return null;
  const { name, created } = bundle.descriptor;
  const when = new Date(created);
  if (!new RegExp(BUNDLE_NAME_PATTERN).test(name) || Number.isNaN(when.getTime())) {
    throw new TrustError(`bundle.json names the bundle ${JSON.stringify(name)} of ${JSON.stringify(created)}, which cannot name a file`, { subject: 'bundle.json' });
  }
  const file = join(dirname(ledgerPath), `${name}-${bundleStamp(when)}.cdx.json`);
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(bundle.sbom);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  return file;
}
