import {
  type AirgapConfig, type Artifact, type ArtifactKind, type EndpointFormat, type EndpointPublishHalf, type PublishHalf, type ResolvedTarget, UsageError,
} from '@airgap/core';
import { ecosystems } from './ecosystems.js';
import { resolveTarget } from './targets.js';

/**
 * Where each kind of a bundle goes in one unpack (docs/config.md, `type: route`): `--to` names one target,
 * or a route that sends each kind to another configured target; `--only` / `--exclude` pick kinds.
 * Everything here is decided from the config and the signed bundle.json alone, so a kind that no target
 * takes is refused before a part is read.
 */
export class UnpackPlan {
  /** The `--to` name: recorded on the run's ledger records. */
  readonly name: string;
  readonly isRoute: boolean;
  private readonly byKind = new Map<string, ResolvedTarget>();
  private readonly fallback?: ResolvedTarget;
  private readonly only?: Set<string>;
  private readonly exclude: Set<string>;

  constructor(to: string, config: AirgapConfig, opts: { only?: string[]; exclude?: string[] } = {}) {
    this.name = to;
    this.only = opts.only?.length ? new Set(opts.only.map((k) => kindOf(k, '--only'))) : undefined;
    this.exclude = new Set((opts.exclude ?? []).map((k) => kindOf(k, '--exclude')));
    const t = to.startsWith('dir:') ? undefined : config.targets?.[to];
    this.isRoute = t?.type === 'route';
    if (t?.type !== 'route') {
      this.fallback = resolveTarget(to, config);
      return;
    }
    for (const [key, name] of Object.entries(t.routes)) {
      const sub = config.targets?.[name];
      if (sub?.type === 'route') throw new UsageError(`targets.${to}.routes.${key}: ${name} is a route too; a route names plain targets`, { subject: `targets.${to}.routes.${key}` });
      if (!sub && !name.startsWith('dir:')) {
        throw new UsageError(`targets.${to}.routes.${key}: no target named ${JSON.stringify(name)} in the config`, {
          subject: `targets.${to}.routes.${key}`,
          hint: `configured targets: ${Object.keys(config.targets ?? {}).filter((n) => n !== to).join(', ') || 'none'}`,
        });
      }
      const resolved = resolveTarget(name, config);
      if (key === 'default') this.fallback = resolved;
      else this.byKind.set(kindOf(key, `targets.${to}.routes`), resolved);
    }
  }

  /** False for a kind `--only` / `--exclude` leaves out. */
  included(kind: string): boolean {
    return (!this.only || this.only.has(kind)) && !this.exclude.has(kind);
  }

  /** The target a kind goes to; undefined when the route maps it nowhere. */
  targetFor(kind: string): ResolvedTarget | undefined {
    return this.byKind.get(kind) ?? this.fallback;
  }

  /** Every distinct target this plan can send to (for freshness: docs/ledger.md). */
  targets(): ResolvedTarget[] {
    return [...new Map([...this.byKind.values(), ...(this.fallback ? [this.fallback] : [])].map((t) => [t.name, t])).values()];
  }

  /** The publish half of a kind at its target. */
  half(kind: string): PublishHalf {
    const target = this.targetFor(kind)!;
    const eco = ecosystems.get(kind as ArtifactKind);
    if (target.type === 'dir') return eco.publish.dir;
    if (target.type === 's3') {
      // An S3 bucket takes what has an object layout: files (docs/backups.md).
      if (!eco.publish.s3) throw new UsageError(`target ${target.name} (s3) cannot take ${kind} artifacts: an s3 target holds files only`, { subject: `--to ${this.name}`, hint: 'route them to another target (type: route), or pack the files in a bundle of their own' });
      return eco.publish.s3;
    }
    if (!eco.publish.endpoint) {
      throw new UsageError(`target ${target.name} (${target.type}) cannot take ${kind} artifacts: this airgap build has no ${target.type} publisher for them`, { subject: `--to ${this.name}`, hint: 'route them to a dir: mirror instead' });
    }
    return eco.publish.endpoint;
  }

  /** Load the ecosystems of these kinds and the drivers of this plan's targets (src/ecosystems.ts loads lazily). */
  async prepare(kinds: Iterable<string>): Promise<void> {
    await ecosystems.load({ kinds: [...kinds] });
    await ecosystems.loadTargets(this.targets().map((t) => t.type));
  }

  /**
   * Refuse (UsageError, exit 2) when a kind of the bundle has no target, no publisher there, or a format
   * its target does not map — one line per problem, nothing read or sent yet.
   */
  check(kinds: Iterable<string>, config: AirgapConfig, env: NodeJS.ProcessEnv): void {
    const problems: string[] = [];
    const formats = new Map<string, { target: ResolvedTarget; formats: Set<EndpointFormat> }>();
    for (const kind of kinds) {
      if (!this.included(kind)) continue;
      const target = this.targetFor(kind);
      if (!target) {
        problems.push(`  ${kind}: route ${this.name} sends it nowhere (add routes.${manifestKeyOf(kind)} or routes.default, or pass --exclude ${kind})`);
        continue;
      }
      let half: PublishHalf;
      try {
        half = this.half(kind);
      } catch (e) {
        problems.push(`  ${kind}: ${(e as Error).message}`);
        continue;
      }
      if (target.type === 'dir') continue;
      const entry = formats.get(target.name) ?? { target, formats: new Set<EndpointFormat>() };
      // A publish half's format depends on the kind alone (each ecosystem publishes one format); an s3
      // target has no formats, only its driver's check.
      if (target.type !== 's3') entry.formats.add((half as EndpointPublishHalf).format({ kind } as Artifact));
      formats.set(target.name, entry);
    }
    for (const { target, formats: f } of formats.values()) {
      const driver = ecosystems.targetDriver(target.type);
      if (!driver) problems.push(`  targets of type ${target.type} (${target.name}) are not supported by this airgap build`);
      else {
        try {
          driver.check?.(target, f, { config, env });
        } catch (e) {
          problems.push(`  ${(e as Error).message.split('\n').join('\n  ')}`);
        }
      }
    }
    if (problems.length) {
      throw new UsageError(`the bundle holds kinds that --to ${this.name} cannot take; nothing was read or sent:\n${problems.join('\n')}`, {
        subject: `--to ${this.name}`,
        hint: 'map every kind the bundle holds (docs/config.md: targets, type: route), or leave kinds out with --only / --exclude',
      });
    }
  }
}

/** A kind as the operator writes it: an artifact kind (`image`) or a manifest section (`images`). */
function kindOf(name: string, where: string): string {
  const eco = ecosystems.declarations().find((e) => e.kind === name || e.manifestKey === name);
  if (!eco) {
    throw new UsageError(`${where}: ${JSON.stringify(name)} is not a kind this airgap build knows`, {
      subject: where,
      hint: `use one of ${ecosystems.declarations().map((e) => e.manifestKey).join(', ')} (or ${ecosystems.declarations().map((e) => e.kind).join(', ')})`,
    });
  }
  return eco.kind;
}

function manifestKeyOf(kind: string): string {
  return ecosystems.declarations().find((e) => e.kind === kind)?.manifestKey ?? kind;
}
