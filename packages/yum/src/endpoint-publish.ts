import { type Artifact, type EndpointPublishHalf, type PublishContext, TargetError, UsageError } from '@airgap/core';
import { type HostedAsset, assetPresence, hostedAsset, putAsset } from '@airgap/nexus';
import { yumMeta } from './mirror-path.js';
import type { YumTargetSettings } from './spec.js';

/**
 * The folder the RPMs of mirror `repo` go under in a yum-hosted repository. Nexus generates repodata
 * `depth` directories deep and rejects RPMs shallower than that (docs/reference/nexus-api.md §6), so the folder has
 * exactly `depth` segments: clients then use `<nexus>/repository/<r>/<folder>/` as their baseurl.
 */
export function yumFolder(settings: YumTargetSettings | undefined, repo: string, targetName: string): string {
  const depth = settings?.depth ?? 0;
  const template = settings?.path ?? (depth === 0 ? '' : depth === 1 ? '{repo}' : undefined);
  if (template === undefined) {
    throw new UsageError(`targets.${targetName}.yum.path is needed with depth ${depth}`, {
      subject: `targets.${targetName}.yum`,
      hint: `set path to ${depth} folder names, e.g. "${Array.from({ length: depth }, (_, i) => (i === depth - 1 ? '{repo}' : `level${i + 1}`)).join('/')}"`,
    });
  }
  const folder = template.replaceAll('{repo}', repo).replace(/^\/+|\/+$/g, '');
  const segments = folder ? folder.split('/') : [];
  if (segments.length !== depth || segments.some((s) => !s || s === '.' || s === '..')) {
    throw new UsageError(`targets.${targetName}.yum.path "${template}" gives ${segments.length} folder levels, but depth is ${depth}`, {
      subject: `targets.${targetName}.yum`,
      hint: 'the path must have exactly as many folders as the repository\'s Repodata Depth, so the repodata lands where clients look for it',
    });
  }
  return folder;
}

function rpmAsset(artifact: Artifact, ctx: PublishContext): HostedAsset {
  const m = yumMeta(artifact);
  const folder = yumFolder((ctx.target.config as { yum?: YumTargetSettings }).yum, m.repo, ctx.target.name);
  return hostedAsset(ctx, 'yum', [folder, 'Packages', m.file].filter(Boolean).join('/'), `rpm ${m.file}`);
}

const depthChecks = new WeakMap<object, Promise<number | undefined>>();

/**
 * The Repodata Depth Nexus reports for the repository (`GET /service/rest/v1/repositories/yum/hosted/<r>`,
 * `yum.repodataDepth`); undefined when the user may not read repository settings (best effort).
 */
async function nexusRepodataDepth(a: HostedAsset, ctx: PublishContext): Promise<number | undefined> {
  if (!a.nexus || !a.endpoint.repository) return undefined;
  const nexus = a.nexus;
  const repository = a.endpoint.repository;
  let p = depthChecks.get(ctx.services);
  if (!p) {
    p = ctx.transfer.run(async () => {
      const url = `${nexus.url}service/rest/v1/repositories/yum/hosted/${encodeURIComponent(repository)}`;
      const res = await ctx.http.request(url, { headers: nexus.headers(), side: 'target' });
      if (res.status !== 200) {
        await res.body.dump();
        ctx.log.debug(`${repository}: repository settings not readable (HTTP ${res.status}); the yum depth is not cross-checked`);
        return undefined;
      }
      const doc = (await res.body.json().catch(() => undefined)) as { yum?: { repodataDepth?: unknown } } | undefined;
      return typeof doc?.yum?.repodataDepth === 'number' ? doc.yum.repodataDepth : undefined;
    });
    depthChecks.set(ctx.services, p);
  }
  return p;
}

async function checkedAsset(artifact: Artifact, ctx: PublishContext): Promise<HostedAsset> {
  const a = rpmAsset(artifact, ctx);
  const depth = (ctx.target.config as { yum?: YumTargetSettings }).yum?.depth ?? 0;
  const actual = await nexusRepodataDepth(a, ctx);
  if (actual !== undefined && actual !== depth) {
    throw new UsageError(`${a.endpoint.repository} has Repodata Depth ${actual}, but targets.${ctx.target.name}.yum.depth is ${depth}`, {
      subject: `targets.${ctx.target.name}.yum.depth`,
      hint: `set depth: ${actual} (and a path of ${actual} folders) so the RPMs land where Nexus builds the repodata`,
    });
  }
  return a;
}

function noModules(artifact: Artifact): TargetError {
  return new TargetError(`${artifact.name}: a Nexus yum-hosted repository generates its own repodata and has no upload for modules metadata`, {
    subject: artifact.name,
    hint: 'unpack modular repositories to a dir: target (serve it, or a raw repository) or mark the repository module_hotfixes=true on the clients',
  });
}

/**
 * RPMs into a yum-hosted repository (docs/reference/nexus-api.md §6): `PUT /repository/<repo>/<folder>/Packages/<file>.rpm`;
 * Nexus regenerates the repodata itself. Presence is a HEAD plus the stored sha256 (assetPresence);
 * the success status of the PUT is UNVERIFIED in the reference, so 200, 201 and 204 are all accepted.
 */
export const yumEndpointPublisher: EndpointPublishHalf = {
  format: () => 'yum',
  async exists(artifact, ctx) {
    if (yumMeta(artifact).role === 'modules') return 'absent';
    return assetPresence(await checkedAsset(artifact, ctx), artifact.digest, ctx);
  },
  async publish(artifact, ctx) {
    if (yumMeta(artifact).role === 'modules') throw noModules(artifact);
    await putAsset(await checkedAsset(artifact, ctx), artifact.blobs[0], ctx, { contentType: 'application/x-rpm' });
  },
};
