import { mkdir, rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type AirgapConfig, type ResolvedTarget, type TargetDriver, MIRROR_TMP_DIR, UsageError } from '@airgap/core';

/** `--to dir:PATH` or a configured target name (docs/exit-codes.md, §4). */
export function resolveTarget(to: string, config: AirgapConfig): ResolvedTarget {
  if (to.startsWith('dir:')) {
    const path = to.slice(4);
    if (!path) throw new UsageError('--to dir: needs a path, e.g. --to dir:/srv/mirror', { subject: '--to' });
    const abs = resolve(path);
    return { type: 'dir', name: to, path: abs, config: { type: 'dir', path: abs } };
  }
  const t = config.targets?.[to];
  if (!t) {
    const known = Object.keys(config.targets ?? {});
    throw new UsageError(`no target named ${JSON.stringify(to)} in the config`, {
      subject: '--to',
      hint: known.length ? `configured targets: ${known.join(', ')}; or use --to dir:PATH` : 'add it under targets: in the config, or use --to dir:PATH',
    });
  }
  if (t.type === 'route') {
    throw new UsageError(`target ${to} is a route: only unpack sends each kind to its own target`, { subject: `--to ${to}`, hint: `name one of its targets instead: ${Object.values(t.routes).join(', ')}` });
  }
  if (t.type === 'dir') return { type: 'dir', name: to, path: resolve(t.path), config: t };
  return { type: t.type, name: to, config: t };
}

/** The directory mirror (docs/design.md): each ecosystem writes its own subfolder. */
export const dirDriver: TargetDriver = {
  type: 'dir',
  async open(target, ctx) {
    if (target.type !== 'dir') throw new UsageError('dir driver used for a non-dir target');
    if (!ctx.dryRun) {
      await mkdir(target.path, { recursive: true });
      // What a killed run left half-written (docs/design.md "Atomic files"): never under a published name.
      await rm(join(target.path, MIRROR_TMP_DIR), { recursive: true, force: true });
    }
    // At the end the (by then empty) temporary folder goes too, so the mirror holds only what it publishes.
    return { services: {}, close: () => rmdir(join(target.path, MIRROR_TMP_DIR)).catch(() => undefined) };
  },
};
