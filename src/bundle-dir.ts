import { readdir } from 'node:fs/promises';
import { UsageError } from '@airgap/core';

/**
 * A path that is no bundle directory at all (mistyped, not mounted, unreadable) is a usage error (exit 2,
 * docs/exit-codes.md); what is wrong inside a bundle directory is for verify to say (exit 3).
 */
export async function checkBundleDir(dir: string): Promise<void> {
  const hint = 'pass the bundle directory (the one holding bundle.json, bundle.json.minisig, SHA256SUMS and part-*)';
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : `cannot be read (${code ?? (e as Error).message})`;
    throw new UsageError(`${dir}: ${why}`, { subject: dir, hint, cause: e });
  }
  if (!entries.includes('bundle.json')) {
    throw new UsageError(`${dir} is not a bundle directory: it has no bundle.json`, { subject: dir, hint });
  }
}
