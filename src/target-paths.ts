import { type Artifact, UsageError, artifactLabel } from '@airgap/core';

/** The path an artifact is published at inside its kind's tree (files: `meta.path`), if it has one. */
export function publishPath(a: Artifact): string | undefined {
  const p = (a.meta as { path?: unknown } | undefined)?.path;
  return typeof p === 'string' ? `${a.kind}:${p}` : undefined;
}

/**
 * Two manifest entries whose artifacts land at one target path would overwrite each other at unpack
 * (docs/manifest.md): a manifest error at pack (exit 2) naming both entries. The same bytes named twice
 * are one artifact, not a conflict.
 */
export class TargetPaths {
  private readonly owners = new Map<string, { entry: string; digest: string }>();
  private readonly problems: string[] = [];

  constructor(private readonly manifestFile: string) {}

  claim(a: Artifact, entry: string): void {
    const key = publishPath(a);
    if (!key) return;
    const owner = this.owners.get(key);
    if (!owner) this.owners.set(key, { entry, digest: a.digest });
    else if (owner.digest !== a.digest) {
      this.problems.push(`${owner.entry} and ${entry}: both land at ${key.slice(key.indexOf(':') + 1)} (${artifactLabel(a)})`);
    }
  }

  check(): void {
    if (!this.problems.length) return;
    throw new UsageError(`${this.manifestFile}: two entries with one target path would overwrite each other:\n${this.problems.map((p) => `  ${p}`).join('\n')}`, {
      subject: this.manifestFile,
      hint: 'give each entry its own path: (a folder ending in / keeps the file name)',
    });
  }
}
