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
import { fieldError, shown } from './validate.js';
import type { TargetDriver } from './target.js';
import type { Transfers } from './transfer.js';

/** What a source half gets while `pack` runs. */
export interface SourceContext {
  /** The download cache; fetch() puts every blob here (through `transfer`). */
  store: ContentStore;
  /** The transfer engine: every blob download goes through it, under the one `--concurrency` limit. */
  transfer: Transfers;
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
   * and resolves it with the registered ecosystem, so ecosystems never import each other (docs/design.md).
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
 * The outside half of an ecosystem (docs/design.md: one interface across ecosystems).
 * `resolve` turns one manifest entry into exact, pinned artifacts with their closure; `fetch` brings
 * every blob of one artifact into the store, verifying the upstream's integrity data while streaming.
 */
export interface SourceHalf<Spec = unknown> {
  resolve(spec: Spec, ctx: SourceContext): Promise<Artifact[]>;
  fetch(artifact: Artifact, ctx: SourceContext): Promise<void>;
  /**
   * True when fetch may still change the artifact's digest, blobs or meta (a `files:` URL: its size is
   * known only from the GET, its digest too without a sha256). Absent or false: the artifact is final
   * after resolve, so pack writes the signed index and starts the parts while it downloads.
   */
  pending?(artifact: Artifact): boolean;
}

/** Blobs of a verified bundle. Each stream is checked again against the descriptor while it flows (docs/design.md). */
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
  /** `--concurrency`: pushes in flight at once; `transfer` enforces it (wrap each push in `transfer.run`). */
  concurrency: number;
  /** The transfer engine (no download store): its limit and upload progress for every push. */
  transfer: Transfers;
  /** Facilities a target kind adds (the Nexus target's endpoints, auth, REST API); see packages/nexus. */
  services: Record<string, unknown>;
}

export type Presence = 'present' | 'absent';

/** What a publish reports beyond success, for the ledger record of the push (docs/ledger.md). */
export interface PublishOutcome {
  /** The digest the artifact's name (an OCI tag) pointed to at the target before this push moved it. */
  previous?: string;
}

/**
 * The inside half of an ecosystem for one kind of target. `exists` must not change anything; it
 * throws a TargetError when the target holds something different under the same coordinates
 * (never overwrite silently). `finalize` runs once after every artifact of this kind was handled,
 * e.g. to regenerate repository indexes in a directory mirror.
 */
export interface PublishHalf {
  exists(artifact: Artifact, ctx: PublishContext): Promise<Presence>;
  publish(artifact: Artifact, ctx: PublishContext): Promise<void | PublishOutcome>;
  finalize?(artifacts: Artifact[], ctx: PublishContext): Promise<void>;
  /**
   * Optional: whether the target already holds one blob of the artifact (OCI: the layer in the image's
   * repository). Kinds that have it may leave blobs out of incremental bundles (ExternalBlob).
   */
  blobExists?(artifact: Artifact, blob: Descriptor, ctx: PublishContext): Promise<boolean>;
}

export interface EndpointPublishHalf extends PublishHalf {
  /** The target format (`repositories`/`endpoints` key) this artifact is published to; preflight checks it is mapped. */
  format(artifact: Artifact): EndpointFormat;
}

export interface Ecosystem<Spec = unknown> {
  /** Artifact kind this ecosystem produces. */
  kind: ArtifactKind;
  /** Its section in the bundle manifest (docs/manifest.md): `images`, `charts`, `apt`, `yum`, `pypi`, `npm`, `files`. */
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
   * Check one artifact of the signed bundle index before anything is published (docs/security.md):
   * every field that becomes a path, a file name, a URL path or a line in a generated index file, by
   * this format's own rules, and that `digest` is the one derived from the blobs. Throws an
   * IntegrityError naming the artifact and the field (helpers: packages/core/src/validate.ts).
   * `verifyBundle` calls it for every artifact (and every `base` artifact) of the index.
   */
  validate(artifact: Artifact): void;
  /**
   * What the manifest's `policy:` refuses in ONE entry, judged from the entry alone — before any upstream
   * request (docs/manifest.md "policy"). One line per violation, naming the rule; empty when allowed.
   */
  checkPolicy?(spec: Spec, policy: ManifestPolicy): string[];
  /** purl, licences and dependencies of one artifact, for the SBOM and the approval report (docs/approval.md). */
  bom?(artifact: Artifact): BomFacts;
  /**
   * Optional: another manifest entry resolved an artifact pack already has (same kind, coordinates and
   * digest); fold what only the second carries into the kept one's `meta` (apt: the suites its entry reads).
   */
  mergeDuplicate?(kept: Artifact, again: Artifact): void;
  publish: {
    /** The `dir:` mirror layout (docs/design.md). */
    dir: PublishHalf;
    /** Nexus and `registries` targets (standard protocols and the Nexus upload API). */
    endpoint?: EndpointPublishHalf;
    /** An S3 bucket (`type: s3` target, packages/s3): objects under the target's prefix (docs/backups.md). */
    s3?: PublishHalf;
  };
}

/** What src/ecosystems.ts declares about an ecosystem without loading it (checked against it once loaded). */
export interface EcosystemDeclaration {
  kind: ArtifactKind;
  manifestKey: string;
  /** The `targets.<t>.<block>` names its targetSettingsSchema has (none: leave out). */
  targetSettings?: string[];
}

type Loader<T> = () => Promise<T>;

/**
 * The registry of ecosystems and target drivers. Commands ask it; they never import an ecosystem
 * directly (docs/design.md). Registration happens once, in src/ecosystems.ts: one line per ecosystem, either
 * the ecosystem itself (`register`) or a declaration and an import thunk (`lazy`), so a command loads
 * only the ecosystems a manifest, a config or a bundle uses (start-up time: test/bench/startup.mjs).
 * `load()` brings declared ecosystems in; `get`, `forManifestKey` and `all` answer from the loaded ones
 * and throw an InternalError for a declared one nobody loaded, so a missing `load()` is loud.
 */
export class EcosystemRegistry {
  private readonly byKind = new Map<ArtifactKind, Ecosystem<any>>();
  private readonly declared = new Map<ArtifactKind, { decl: EcosystemDeclaration; load?: Loader<Ecosystem<any>>; loading?: Promise<void> }>();
  private readonly drivers = new Map<string, TargetDriver>();
  private readonly lazyDrivers = new Map<string, Loader<TargetDriver>>();

  registerTarget(driver: TargetDriver): this {
    this.drivers.set(driver.type, driver);
    return this;
  }

  /** A target driver imported by loadTargets() (unpack loads the drivers of the targets it sends to). */
  lazyTarget(type: TargetDriver['type'], load: Loader<TargetDriver>): this {
    this.lazyDrivers.set(type, load);
    return this;
  }

  async loadTargets(types: string[]): Promise<void> {
    for (const type of new Set(types)) {
      const load = this.lazyDrivers.get(type);
      if (this.drivers.has(type) || !load) continue;
      const driver = await load();
      if (driver.type !== type) throw new InternalError(`target driver registered as ${type} loaded as ${driver.type}`);
      this.drivers.set(type, driver);
    }
  }

  /** The driver for a target type; undefined when this build has none. A lazy one must be loaded first. */
  targetDriver(type: string): TargetDriver | undefined {
    const d = this.drivers.get(type);
    if (!d && this.lazyDrivers.has(type)) throw new InternalError(`target driver ${type} was not loaded`, { hint: 'call ecosystems.loadTargets([type]) first' });
    return d;
  }

  register(eco: Ecosystem<any>): this {
    this.declare({ kind: eco.kind, manifestKey: eco.manifestKey, targetSettings: Object.keys(eco.targetSettingsSchema ?? {}) });
    this.byKind.set(eco.kind, eco);
    return this;
  }

  /** Declare an ecosystem and how to import it; nothing is loaded until load() asks for it. */
  lazy(decl: EcosystemDeclaration, load: Loader<Ecosystem<any>>): this {
    this.declare(decl);
    this.declared.get(decl.kind)!.load = load;
    return this;
  }

  private declare(decl: EcosystemDeclaration): void {
    if (this.declared.has(decl.kind)) throw new InternalError(`ecosystem ${decl.kind} registered twice`);
    for (const d of this.declared.values()) if (d.decl.manifestKey === decl.manifestKey) throw new InternalError(`manifest section ${decl.manifestKey} registered twice`);
    this.declared.set(decl.kind, { decl });
  }

  /**
   * Import the declared ecosystems that produce these artifact kinds, own these manifest sections or
   * these target settings blocks (`'all'`: every one). Names nobody declared are ignored (the schemas
   * refuse them with their own words).
   */
  async load(what: 'all' | { kinds?: string[]; manifestKeys?: string[]; targetSettings?: string[] }): Promise<void> {
    const wanted = [...this.declared.values()].filter(({ decl }) =>
      what === 'all' ||
      what.kinds?.includes(decl.kind) ||
      what.manifestKeys?.includes(decl.manifestKey) ||
      (decl.targetSettings ?? []).some((b) => what.targetSettings?.includes(b)),
    );
    await Promise.all(wanted.map((d) => {
      if (this.byKind.has(d.decl.kind) || !d.load) return undefined;
      d.loading ??= d.load().then((eco) => {
        const settings = Object.keys(eco.targetSettingsSchema ?? {}).sort().join(',');
        if (eco.kind !== d.decl.kind || eco.manifestKey !== d.decl.manifestKey || settings !== [...(d.decl.targetSettings ?? [])].sort().join(',')) {
          throw new InternalError(`ecosystem declared as ${JSON.stringify(d.decl)} loaded as kind ${eco.kind}, section ${eco.manifestKey}, target settings [${settings}]`);
        }
        this.byKind.set(eco.kind, eco);
      });
      return d.loading;
    }));
  }

  /** What each ecosystem is declared as (loaded or not), in registration order. */
  declarations(): EcosystemDeclaration[] {
    return [...this.declared.values()].map((d) => d.decl);
  }

  /** Manifest sections this build has an ecosystem for (loaded or not), in registration order. */
  manifestKeys(): string[] {
    return [...this.declared.values()].map((d) => d.decl.manifestKey);
  }

  get(kind: ArtifactKind): Ecosystem {
    const eco = this.byKind.get(kind);
    if (eco) return eco;
    if (this.declared.has(kind)) throw new InternalError(`ecosystem ${kind} was not loaded`, { hint: 'call ecosystems.load({ kinds }) first' });
    throw new InternalError(`no ecosystem registered for artifact kind ${kind}`, { hint: 'this airgap build does not support that kind yet' });
  }

  /**
   * The index-semantics check of one artifact of a signed bundle (docs/security.md): its ecosystem's
   * `validate`; an artifact kind this build does not know is refused the same way (exit 3).
   */
  validate(artifact: Artifact): void {
    const eco = typeof artifact?.kind === 'string' ? this.byKind.get(artifact.kind as ArtifactKind) : undefined;
    if (!eco && this.declared.has(artifact.kind)) throw new InternalError(`ecosystem ${artifact.kind} was not loaded`, { hint: 'call ecosystems.load({ kinds }) first (validateLoading does)' });
    if (!eco) throw fieldError(artifact ?? {}, 'kind', `${shown(artifact?.kind)} is not an artifact kind this airgap build knows`);
    eco.validate(artifact);
  }

  /** validate(), loading the artifact's ecosystem first (unpack, before it knows the kinds of the index). */
  async validateLoading(artifact: Artifact): Promise<void> {
    if (typeof artifact?.kind === 'string') await this.load({ kinds: [artifact.kind] });
    this.validate(artifact);
  }

  forManifestKey(key: string): Ecosystem | undefined {
    const d = [...this.declared.values()].find((x) => x.decl.manifestKey === key);
    return d ? this.get(d.decl.kind) : undefined;
  }

  /** Every ecosystem; all must be loaded (`await load('all')`). */
  all(): Ecosystem[] {
    return [...this.declared.keys()].map((kind) => this.get(kind));
  }

  /** The loaded ecosystems only (what a config or manifest at hand needs). */
  loaded(): Ecosystem[] {
    return [...this.declared.keys()].filter((k) => this.byKind.has(k)).map((k) => this.byKind.get(k)!);
  }

  /** purl, licences and dependencies of an artifact from its ecosystem (a generic purl when it has no `bom`). */
  facts(a: Artifact): BomFacts {
    if (!this.byKind.has(a.kind) && this.declared.has(a.kind)) this.get(a.kind); // not loaded: loud
    return this.byKind.get(a.kind)?.bom?.(a) ?? fallbackFacts(a);
  }
}
