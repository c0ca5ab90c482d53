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

  /** False when the entry is refused (dry run); throws when refused in a real pack. */
  allowsEntry(key: string, entry: unknown, label: string): boolean {
    const policy = this.manifest.policy;
    const check = policy && ecosystems.forManifestKey(key)?.checkPolicy;
    if (!check) return true;
    const found = check(entry, policy).map((v) => `${label}: ${v}`);
    return this.judge(found);
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
