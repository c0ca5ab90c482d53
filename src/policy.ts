import {
  type Artifact, type Manifest, type ManifestPolicy, licenseViolations, policyError, sizeViolations,
} from '@airgap/core';
import { ecosystems } from './ecosystems.js';

/**
 * The manifest's `policy:` during pack (docs/manifest.md "policy"). Entry rules (registries, digests) are
 * judged before the entry is resolved, so a refused entry causes no upstream request; licence and size
 * rules after resolve, before any artifact is fetched into the bundle. A real pack stops at the first
 * refusal with every violation of that stage named (exit 2); `--dry-run` collects them all and goes on.
 */
export class PolicyGate {
  readonly refused: string[] = [];

  constructor(
    private readonly manifest: Manifest,
    private readonly dryRun: boolean,
  ) {}

  get policy(): ManifestPolicy | undefined {
    return this.manifest.policy;
  }

  /**
   * Every entry of every section, before the first is resolved (so a refused entry anywhere means no
   * request at all). Returns the refused entries (dry run); throws naming all of them in a real pack.
   */
  checkEntries(sections: Record<string, unknown[]>, label: (key: string, i: number, entry: unknown) => string): Set<unknown> {
    const refused = new Set<unknown>();
    const found: string[] = [];
    for (const [key, entries] of Object.entries(sections)) {
      entries.forEach((entry, i) => {
        const v = this.violations(key, entry, label(key, i, entry));
        if (v.length) refused.add(entry);
        found.push(...v);
      });
    }
    this.judge(found);
    return refused;
  }

  /** An entry another ecosystem implies (a chart's images): false when refused (dry run); throws in a real pack. */
  allowsEntry(key: string, entry: unknown, label: string): boolean {
    return this.judge(this.violations(key, entry, label));
  }

  private violations(key: string, entry: unknown, label: string): string[] {
    const policy = this.manifest.policy;
    const check = policy && ecosystems.forManifestKey(key)?.checkPolicy;
    if (!check) return [];
    // `policy.<rule>: <entry>: <why>`: the rule first, then which entry (docs/manifest.md "policy").
    return check(entry, policy).map((v) => v.replace(/^(policy\.[\w.]+): /, `$1: ${label}: `));
  }

  /** Licence and size rules over what resolve found; the artifacts the dry run keeps. */
  checkResolved(artifacts: Artifact[]): Artifact[] {
    const policy = this.manifest.policy;
    if (!policy) return artifacts;
    const licensed = licenseViolations(artifacts, (a) => ecosystems.facts(a), policy);
    this.judge(licensed.map((v) => v.message));
    const refused = new Set(licensed.map((v) => v.artifact));
    const kept = artifacts.filter((a) => !refused.has(a));
    this.judge(sizeViolations(kept, policy));
    return kept;
  }

  private judge(found: string[]): boolean {
    if (!found.length) return true;
    if (!this.dryRun) throw policyError(this.manifest.file, found);
    this.refused.push(...found);
    return false;
  }
}
