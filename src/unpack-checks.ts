import { type Artifact, type PublishContext, type PublishHalf, TargetError, TrustError, artifactLabel, errorText } from '@airgap/core';
import type { VerifiedBundle } from '@airgap/bundle';
import type { NewestBundlesByTarget } from '@airgap/ledger';
import pMap from 'p-map';
import type { UnpackPlan } from './route.js';
import type { UnpackOptions, UnpackResult } from './unpack.js';

/** The checks `unpack` makes before it publishes anything (split from src/unpack.ts). */

/**
 * docs/security.md freshness, per bundle name and target (docs/ledger.md): a bundle older (by its signed `created`)
 * than the newest bundle of the same name the ledger records for the same target is refused, so an old
 * bundle cannot be replayed to roll that target back; filling another target from an older bundle is
 * fine. A route checks itself and every target it sends to. The same bundle again (a re-run) is not older.
 * `--allow-older` lets it in; the run record notes it.
 */
export function checkFreshness(bundle: VerifiedBundle, newest: NewestBundlesByTarget, plan: UnpackPlan, opts: UnpackOptions): UnpackResult['allowedOlder'] {
  const { name, created } = bundle.descriptor;
  for (const target of [plan.name, ...plan.targets().map((t) => t.name)]) {
    const seen = newest.get(target)?.get(name);
    if (!seen || Date.parse(created) >= Date.parse(seen.created)) continue;
    if (!opts.allowOlder) {
      throw new TrustError(`bundle ${name} of ${created} is older than bundle ${name} of ${seen.created}, which the ledger ${opts.ledgerPath} already records for target ${target}`, {
        subject: bundle.dir,
        hint: `an older bundle could roll ${target} back; if this is intended, pass --allow-older (recorded in the ledger)`,
      });
    }
    opts.reporter.warn(`--allow-older: bundle ${name} of ${created} is older than ${seen.created}, which the ledger records for ${target}; importing it anyway (recorded in the ledger)`);
    return { newest: seen.created, target };
  }
  return null;
}

/**
 * An incremental bundle (`pack --since`) leaves out what its receipt lists. Before publishing anything,
 * ask the target (the publish halves' `exists`) for each of those artifacts: a target that lacks them
 * (another target, a wiped mirror) would end up with a partial state. Exit 1 (TargetError): the bundle is
 * fine, the target is not ready for it (docs/ledger.md).
 */
export async function checkBase(
  baseArtifacts: Artifact[], halves: Map<string, PublishHalf>, ctxOf: (kind: string) => PublishContext, targetName: string, concurrency: number, bundle: VerifiedBundle,
): Promise<void> {
  const missing: string[] = [];
  await pMap(baseArtifacts, async (a) => {
    try {
      if ((await halves.get(a.kind)!.exists(a, ctxOf(a.kind))) !== 'present') missing.push(artifactLabel(a));
    } catch (e) {
      missing.push(`${artifactLabel(a)} (${errorText(e)})`);
    }
  }, { concurrency });
  if (!missing.length) return;
  missing.sort();
  const shown = missing.slice(0, 20).map((m) => `  ${m}`).join('\n');
  const base = bundle.descriptor.base as { receipt?: { created?: string } } | null;
  throw new TargetError(
    `bundle ${bundle.descriptor.name} of ${bundle.descriptor.created} is incremental: it builds on ${baseArtifacts.length} artifacts, and target ${targetName} lacks ${missing.length} of them:\n${shown}${missing.length > 20 ? `\n  … and ${missing.length - 20} more` : ''}`,
    {
      subject: targetName,
      hint: `unpack the bundles it builds on into ${targetName} first${base?.receipt?.created ? ` (it was packed against a receipt of ${base.receipt.created})` : ''}, or ask the outside for a full bundle (pack without --since)`,
    },
  );
}
