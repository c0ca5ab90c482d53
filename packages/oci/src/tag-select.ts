import semver from 'semver';
import { UsageError } from '@airgap/core';

/**
 * Tag selection of an `images:` entry (docs/manifest.md "images", `repo` + `tags`). Every rule given
 * must hold; the result is the same for the same `tags/list`, whatever order the registry lists it in.
 */
export interface TagSelection {
  /** A semver range (node-semver syntax: `>=1.27 <1.29`, `~1.27`, `1.x`); tags are read loosely (`v1.27.3`). */
  semver?: string;
  /** A JavaScript regular expression the whole tag is tested against (anchor it yourself: `^v?1\.27`). */
  regex?: string;
  /** Of the tags left, only the N highest semantic versions. */
  newest?: number;
}

/** cosign's attached-artifact tags and the OCI 1.1 referrers fallback tag: carried with their image, never selected. */
const ATTACHED_TAG = /^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$/;

/** The tag as a semantic version (loose: `v1.27.3` reads as 1.27.3), or undefined. */
function versionOf(tag: string): semver.SemVer | undefined {
  return semver.parse(tag, { loose: true }) ?? undefined;
}

/** Highest version first; equal versions (`v1.2.3`, `1.2.3`) by the tag text, so the order is total. */
function byVersionDesc(a: string, b: string): number {
  const va = versionOf(a);
  const vb = versionOf(b);
  if (va && vb) {
    const c = semver.rcompare(va, vb);
    if (c !== 0) return c;
  } else if (va || vb) {
    return va ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Check the rules themselves before any request: a bad range or pattern is the manifest's mistake (exit 2). */
export function checkTagSelection(sel: TagSelection, label: string): { range?: semver.Range; pattern?: RegExp } {
  const out: { range?: semver.Range; pattern?: RegExp } = {};
  if (sel.semver !== undefined) {
    try {
      out.range = new semver.Range(sel.semver, { loose: true });
    } catch (e) {
      throw new UsageError(`${label}: tags.semver ${JSON.stringify(sel.semver)} is not a semver range: ${(e as Error).message}`, {
        subject: label,
        hint: 'write a node-semver range, e.g. ">=1.27 <1.29" or "~1.27"',
      });
    }
  }
  if (sel.regex !== undefined) {
    try {
      out.pattern = new RegExp(sel.regex, 'u');
    } catch (e) {
      throw new UsageError(`${label}: tags.regex ${JSON.stringify(sel.regex)} is not a regular expression: ${(e as Error).message}`, { subject: label });
    }
  }
  return out;
}

/**
 * The selected tags, highest version first (tags that are not versions after, by text). `semver` keeps
 * tags whose loose version satisfies the range (pre-releases only when the range names one, as npm does);
 * `regex` keeps tags it matches; `newest` then keeps the first N of those that are versions. Nothing
 * selected is a manifest error (exit 2) that names the nearest tags the registry has.
 */
export function selectTags(all: string[], sel: TagSelection, label: string): string[] {
  const { range, pattern } = checkTagSelection(sel, label);
  const candidates = [...new Set(all)].filter((t) => !ATTACHED_TAG.test(t));
  let kept = candidates;
  if (range) kept = kept.filter((t) => {
    const v = versionOf(t);
    return v !== undefined && range.test(v);
  });
  if (pattern) kept = kept.filter((t) => pattern.test(t));
  kept.sort(byVersionDesc);
  if (sel.newest !== undefined) kept = kept.filter((t) => versionOf(t)).slice(0, sel.newest);
  if (kept.length === 0) {
    const rules = Object.entries(sel).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ');
    const near = [...candidates].sort(byVersionDesc);
    throw new UsageError(`${label}: no tag matches tags { ${rules} } (the registry lists ${candidates.length} tag${candidates.length === 1 ? '' : 's'})`, {
      subject: label,
      hint: `widen the tag rules in the manifest${near.length ? `; highest tags it has: ${near.slice(0, 8).join(', ')}` : ''}`,
    });
  }
  return kept;
}

/** How a selection reads in output and in the index: `semver ">=1.27 <1.29", regex "^v?1\.27", newest 3`. */
export function describeSelection(sel: TagSelection): string {
  return Object.entries(sel).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ');
}
