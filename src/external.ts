/**
 * Blob-level incremental bundles (docs/transfer.md "Incremental bundles carry only new blobs"): with
 * `pack --since`, a blob the receipt lists as inside is not carried even when the artifact using it is
 * new; the index marks it external, and unpack checks the target holds it before the first push.
 */
import pMap from 'p-map';
import {
  type Artifact, type BundleIndex, type ExternalBlob, type PublishContext, type PublishHalf,
  TargetError, artifactLabel, errorText, formatSize,
} from '@airgap/core';
import type { Receipt } from '@airgap/ledger';
import { ecosystems } from './ecosystems.js';

/** Manifests and indexes stay in the bundle: the publisher PUTs them under the (new) tag from the bundle's bytes. */
const MANIFEST_MEDIA = /manifest|image\.index/;

/**
 * The blobs of `artifacts` to leave out: listed in the receipt for the same kind, not a manifest, and of a
 * kind whose publish halves can ask a target for one blob (`blobExists`); a blob another artifact needs
 * that cannot be checked that way is carried.
 */
export function externalBlobs(artifacts: Artifact[], receipt: Receipt): Map<string, ExternalBlob> {
  const out = new Map<string, ExternalBlob>();
  const mustCarry = new Set<string>();
  for (const a of artifacts) {
    const { dir, endpoint } = ecosystems.get(a.kind).publish;
    const eligible = Boolean(dir.blobExists) && (!endpoint || Boolean(endpoint.blobExists));
    const inside = new Set(receipt.digests[a.kind] ?? []);
    for (const b of a.blobs) {
      if (!eligible || !inside.has(b.digest) || b.digest === a.oci?.root.digest || MANIFEST_MEDIA.test(b.mediaType)) {
        mustCarry.add(b.digest);
        continue;
      }
      if (!out.has(b.digest)) {
        out.set(b.digest, {
          mediaType: b.mediaType, digest: b.digest, size: b.size, kind: a.kind,
          target: receipt.target, carriedBy: receipt.carried?.[b.digest]?.bundle ?? null,
        });
      }
    }
  }
  for (const d of mustCarry) out.delete(d);
  return out;
}

/**
 * Before the first push: every external blob must be at the target (asked through the publish half of
 * an artifact that uses it). Exit 1 (TargetError) naming each missing blob and the bundle that carried
 * it: the bundle is fine, the target is not ready for it.
 */
export async function checkExternal(
  index: BundleIndex, halves: Map<string, PublishHalf>, ctxOf: (kind: string) => PublishContext, targetName: string, concurrency: number,
): Promise<void> {
  const external = index.external ?? [];
  if (!external.length) return;
  const users = new Map<string, Artifact>();
  for (const a of index.artifacts) for (const b of a.blobs) if (!users.has(b.digest)) users.set(b.digest, a);
  const missing: string[] = [];
  await pMap(external, async (b) => {
    const a = users.get(b.digest);
    const half = a && halves.get(a.kind);
    if (!a || !half) return; // its artifacts are not unpacked in this run (--only/--exclude)
    let here = false;
    let why = '';
    try {
      if (half.blobExists) here = await half.blobExists(a, b, ctxOf(a.kind));
      else why = ' (this target cannot be asked for one blob)';
    } catch (e) {
      why = ` (${errorText(e)})`;
    }
    const by = b.carriedBy ? `bundle ${b.carriedBy.name} of ${b.carriedBy.created}` : 'an earlier bundle';
    if (!here) missing.push(`${b.digest} (${formatSize(b.size)}, ${artifactLabel(a)}), carried by ${by}${why}`);
  }, { concurrency });
  if (!missing.length) return;
  missing.sort();
  const shown = missing.slice(0, 20).map((m) => `  ${m}`).join('\n');
  throw new TargetError(
    `bundle ${index.name} of ${index.created} is incremental: it relies on ${external.length} blobs already inside, and target ${targetName} lacks ${missing.length} of them:\n${shown}${missing.length > 20 ? `\n  … and ${missing.length - 20} more` : ''}`,
    { subject: targetName, hint: `unpack the named bundles into ${targetName} first, or ask the outside for a full bundle (pack without --since)` },
  );
}
