import type { Readable } from 'node:stream';
import type { Artifact, ArtifactKind } from './artifact.js';
import { type BomFacts, fallbackFacts } from './bom.js';
import type { ManifestPolicy } from './policy.js';
import type { AirgapConfig, EndpointFormat, TargetConfig } from './config-types.js';
import type { Descriptor } from './descriptor.js';
import type { HttpClient } from './http.js';
import type { Logger, ProgressSink } from './log.js';
import type { ContentStore } from './store.js';
import { InternalError } from './errors.js';
import type { TargetDriver } from './target.js';

/** What a source half gets while `pack` runs. */
export interface SourceContext {
  /** The download cache; fetch() puts every blob here. */
  store: ContentStore;
  http: HttpClient;
  config: AirgapConfig;
  log: Logger;
  progress: ProgressSink;
  /** Folder of the manifest: relative paths in it are resolved against this. */
  manifestDir: string;
  concurrency: number;
  dryRun: boolean;
  signal?: AbortSignal;
  /** The manifest's `policy:` (docs/manifest.md), for checks only a source can make (an image's cosign signature). */
  policy?: ManifestPolicy;
  /**
   * Resolve an entry of another manifest section as if the manifest had it (e.g. the images a Helm
   * chart declares → `images` entries). The pipeline validates the entry against that section's schema
   * and resolves it with the registered ecosystem, so ecosystems never import each other (STYLE).
   * Throws a UsageError when this build has no ecosystem for `manifestKey`. Absent in contexts that
   * cannot resolve other sections.
   */
  resolveAlso?(manifestKey: string, entry: unknown): Promise<Artifact[]>;
  /**
   * Bring an artifact that resolveAlso returned into the store now, with its own ecosystem's fetch
   * (e.g. an OCI chart's layer, read to find the chart's images). Optional like resolveAlso.
   */
  fetchAlso?(artifact: Artifact): Promise<void>;
}

/**
 * The outside half of an ecosystem (STYLE: one interface across ecosystems).
 * `resolve` turns one manifest entry into exact, pinned artifacts with their closure; `fetch` brings
 * every blob of one artifact into the store, verifying the upstream's integrity data while streaming.
 */
export interface SourceHalf<Spec = unknown> {
  resolve(spec: Spec, ctx: SourceContext): Promise<Artifact[]>;
  fetch(artifact: Artifact, ctx: SourceContext): Promise<void>;
}

/** Blobs of a verified bundle. Each stream is checked again against the descriptor while it flows (SPEC §7). */
export interface BlobSource {
  open(blob: Descriptor): Readable;
}

/** A target as unpack resolved it from `--to`. */
export type ResolvedTarget =
  | { type: 'dir'; name: string; path: string; config: TargetConfig }
  | { type: 'nexus' | 'registries' | 's3'; name: string; config: TargetConfig };

/** What a publish half gets while `unpack` runs. */
export interface PublishContext {
  target: ResolvedTarget;
  blobs: BlobSource;
  http: HttpClient;
  config: AirgapConfig;
  log: Logger;
  progress: ProgressSink;
  bundle: { name: string; created: string };
  dryRun: boolean;
  /** Facilities a target kind adds (the Nexus target's endpoints, auth, REST API); see packages/nexus. */
  services: Record<string, unknown>;
}

export type Presence = 'present' | 'absent';

/**
 * The inside half of an ecosystem for one kind of target. `exists` must not change anything; it
 * throws a TargetError when the target holds something different under the same coordinates
 * (never overwrite silently). `finalize` runs once after every artifact of this kind was handled,
 * e.g. to regenerate repository indexes in a directory mirror.
 */
export interface PublishHalf {
  exists(artifact: Artifact, ctx: PublishContext): Promise<Presence>;
  publish(artifact: Artifact, ctx: PublishContext): Promise<void>;
  finalize?(artifacts: Artifact[], ctx: PublishContext): Promise<void>;
}

export interface EndpointPublishHalf extends PublishHalf {
  /** The target format (`repositories`/`endpoints` key) this artifact is published to; preflight checks it is mapped. */
  format(artifact: Artifact): EndpointFormat;
}

export interface Ecosystem<Spec = unknown> {
  /** Artifact kind this ecosystem produces. */
  kind: ArtifactKind;
  /** Its section in the bundle manifest (SPEC §3): `images`, `charts`, `apt`, `yum`, `pypi`, `npm`, `files`. */
  manifestKey: string;
  /**
   * JSON Schema (draft 2020-12 subset that ajv accepts) of ONE entry of its manifest section. The
   * manifest schema is composed from these (packages/core/src/manifest.ts); unknown keys must be refused
   * (`additionalProperties: false`). Errors are worded by packages/core/src/document.ts; a pattern that
   * needs words can carry `'x-expected': 'an oci:// reference'`. Of `oneOf`/`anyOf` forms, only the
   * errors of the form an entry came closest to are shown.
   */
  specSchema: Record<string, unknown>;
  /**
   * Optional JSON Schema of this ecosystem's settings block inside a target (e.g. `targets.<t>.apt`),
   * keyed by the block name.
   */
  targetSettingsSchema?: Record<string, Record<string, unknown>>;
  source: SourceHalf<Spec>;
  /**
   * What the manifest's `policy:` refuses in ONE entry, judged from the entry alone — before any upstream
   * request (docs/manifest.md "policy"). One line per violation, naming the rule; empty when allowed.
   */
  checkPolicy?(spec: Spec, policy: ManifestPolicy): string[];
  /** purl, licences and dependencies of one artifact, for the SBOM and the approval report (docs/approval.md). */
  bom?(artifact: Artifact): BomFacts;
  publish: {
    /** The `dir:` mirror layout (SPEC §7). */
    dir: PublishHalf;
    /** Nexus and `registries` targets (standard protocols and the Nexus upload API). */
    endpoint?: EndpointPublishHalf;
    /** An S3 bucket (`type: s3` target, packages/s3): objects under the target's prefix (docs/backups.md). */
    s3?: PublishHalf;
  };
}

/**
 * The registry of ecosystems and target drivers. Commands ask it; they never import an ecosystem
 * directly (STYLE). Registration happens once, in src/ecosystems.ts.
 */
export class EcosystemRegistry {
  private readonly byKind = new Map<ArtifactKind, Ecosystem<any>>();
  private readonly drivers = new Map<string, TargetDriver>();

  registerTarget(driver: TargetDriver): this {
    this.drivers.set(driver.type, driver);
    return this;
  }

  targetDriver(type: string): TargetDriver | undefined {
    return this.drivers.get(type);
  }

  register(eco: Ecosystem<any>): this {
    if (this.byKind.has(eco.kind)) throw new InternalError(`ecosystem ${eco.kind} registered twice`);
    this.byKind.set(eco.kind, eco);
    return this;
  }

  get(kind: ArtifactKind): Ecosystem {
    const eco = this.byKind.get(kind);
    if (!eco) throw new InternalError(`no ecosystem registered for artifact kind ${kind}`, { hint: 'this airgap build does not support that kind yet' });
    return eco;
  }

  forManifestKey(key: string): Ecosystem | undefined {
    for (const eco of this.byKind.values()) if (eco.manifestKey === key) return eco;
    return undefined;
  }

  all(): Ecosystem[] {
    return [...this.byKind.values()];
  }

  /** purl, licences and dependencies of an artifact from its ecosystem (a generic purl when it has no `bom`). */
  facts(a: Artifact): BomFacts {
    return this.byKind.get(a.kind)?.bom?.(a) ?? fallbackFacts(a);
  }
}
