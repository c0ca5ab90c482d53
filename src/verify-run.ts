import { readdir } from 'node:fs/promises';
import { IntegrityError, UsageError } from '@airgap/core';
import { type BundleDescriptor, type PublicKey, type VerifiedBundle, assessDamage, damageError, verifyBundle } from '@airgap/bundle';
import { ecosystems } from './ecosystems.js';
import type { Reporter } from './report.js';

/**
 * Verify a bundle as verify, unpack, repair and approval do (docs/security.md): the bundle directory is
 * checked to be one (else exit 2), then verifyBundle with the trusted keys, the ecosystems of the kinds
 * it carries validating its index (each loaded only when the bundle holds that kind). A part fault names
 * every damaged part and whether the recovery data can rebuild them. Its own module, apart from
 * src/unpack.ts, so `airgap verify` loads none of the ledger and target code (start-up time).
 */
export async function verifyWithTrust(
  bundleDir: string, trust: PublicKey[], insecure: boolean, reporter: Reporter,
  beforeParts?: (d: BundleDescriptor) => void | Promise<void>,
): Promise<VerifiedBundle> {
  await checkBundleDir(bundleDir);
  if (insecure) {
    reporter.warn('--insecure-skip-signature: the bundle signature is NOT checked; anyone could have made this bundle. This is recorded in the ledger.');
  } else if (trust.length === 0) {
    throw new UsageError('no trusted public key: every bundle must be signed by a key you trust', {
      hint: 'pass --pub FILE (the outside key\'s .pub) or list it under trust: in the config (docs/exit-codes.md)',
    });
  }
  return reporter.phase('Verifying the bundle', async () => {
    try {
      // The parts' sizes come from the signed descriptor: the total for percent and ETA.
      const withTotal = async (d: BundleDescriptor) => {
        await beforeParts?.(d);
        reporter.progress({ type: 'phase', phase: 'verify', bytes: d.parts.reduce((n, p) => n + p.size, 0) });
      };
      return await verifyBundle(bundleDir, { trust, insecureSkipSignature: insecure, beforeParts: withTotal, validate: (a) => ecosystems.validateLoading(a), onBytes: (n) => reporter.progress({ type: 'bytes', bytes: n }) });
    } catch (e) {
      // A part fault: name every damaged part and say whether the recovery data can rebuild them.
      if (e instanceof IntegrityError) {
        const report = await assessDamage(bundleDir, { trust, insecureSkipSignature: insecure }).catch(() => undefined);
        if (report?.damaged.length) throw damageError(report);
      }
      throw e;
    }
  });
}

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

