import semver from 'semver';
import {
  type Artifact, type Endpoint, type EndpointPublishHalf, type EndpointResolver, type PublishContext,
  TargetError, failStatus, redact, safeUrl,
} from '@airgap/core';
import { type Packument, escapeName } from './packument.js';
import { publishDocument } from './publish-document.js';
import type { NpmArtifactMeta } from './source.js';
import { artifactIntegrity, sameIntegrity } from './tarball-integrity.js';

function endpointOf(ctx: PublishContext): Endpoint {
  const resolver = ctx.services.endpoints as EndpointResolver | undefined;
  if (!resolver) throw new TargetError(`target ${ctx.target.name} offers no endpoints for npm`, { subject: ctx.target.name });
  return resolver.endpoint('npm');
}

/** The target's packument, read whole as one transfer under the engine's limit (docs/transfers.md). */
function targetPackument(ep: Endpoint, name: string, ctx: PublishContext, write = false): Promise<Packument | undefined> {
  const url = new URL(escapeName(name) + (write ? '?write=true' : ''), ep.url);
  return ctx.transfer.run(async () => {
    const res = await ctx.http.request(url, { headers: { accept: 'application/json', ...ep.headers() }, side: 'target' });
    if (res.status === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.status !== 200) await failStatus(res, 'GET', 'target', res.status === 401 || res.status === 403 ? `check the credentials of target ${ctx.target.name}` : undefined);
    return (await res.body.json()) as Packument;
  });
}

/** present / absent, or a TargetError when the target holds other bytes under the same version. */
function presence(a: Artifact, doc: Packument | undefined, want: { integrity: string; shasum?: string }, where: string): 'present' | 'absent' {
  const there = doc?.versions?.[a.version];
  if (!there) return 'absent';
  const dist = (there.dist ?? {}) as { integrity?: string; shasum?: string };
  const same = dist.integrity ? sameIntegrity(dist.integrity, want.integrity) : Boolean(dist.shasum && want.shasum && dist.shasum === want.shasum);
  if (same) return 'present';
  throw new TargetError(`npm ${a.name}@${a.version} is already at ${where} with different content (integrity ${dist.integrity ?? dist.shasum ?? 'unknown'}, the bundle carries ${want.integrity})`, {
    subject: `${a.name}@${a.version}`,
    hint: 'npm versions are immutable: the target has another tarball under this version; find out which one is right before removing either',
  });
}

/** Tags to send with this version: never move a target's tag back to an older version. */
export function tagsToSend(meta: NpmArtifactMeta, version: string, targetTags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const newer = (cur: string | undefined) => !cur || !semver.valid(cur, true) || semver.gt(version, cur, true);
  for (const t of meta.tags) if (t !== 'latest' && newer(targetTags[t])) out[t] = version;
  if (meta.carriedLatest === version && newer(targetTags.latest)) out.latest = version;
  return out;
}

/** npm to an npm registry endpoint: Nexus npm-hosted (docs/reference/nexus-api.md §8) or any registry (verdaccio). */
export const npmEndpointPublisher: EndpointPublishHalf = {
  format: () => 'npm',

  async exists(a, ctx) {
    const ep = endpointOf(ctx);
    const doc = await targetPackument(ep, a.name, ctx);
    if (!doc?.versions?.[a.version]) return 'absent';
    return presence(a, doc, await artifactIntegrity(a, ctx.blobs), safeUrl(ep.url));
  },

  async publish(a, ctx) {
    const ep = endpointOf(ctx);
    // Versions of one package are published one at a time: each publish reads the target's dist-tags.
    await ctx.transfer.serial(`npm\0${ep.url}\0${a.name}`, async () => {
      const meta = a.meta as unknown as NpmArtifactMeta;
      const want = await artifactIntegrity(a, ctx.blobs);
      const current = await targetPackument(ep, a.name, ctx);
      if (presence(a, current, want, safeUrl(ep.url)) === 'present') return;
      // One transfer under the engine's limit (docs/transfers.md): the answer is read inside; a 409 is returned.
      const put = (base?: Record<string, unknown>) => ctx.transfer.run(async () => {
        const manifest = { ...meta.manifest, dist: { ...meta.manifest.dist, integrity: want.integrity, ...(want.shasum ? { shasum: want.shasum } : {}) } };
        const doc = publishDocument({
          name: a.name,
          manifest,
          tarballUrl: new URL(`${escapeName(a.name)}/-/${a.name}-${a.version}.tgz`, ep.url).toString(),
          distTags: tagsToSend(meta, a.version, (base?.['dist-tags'] as Record<string, string>) ?? current?.['dist-tags'] ?? {}),
          base,
          tarballSize: a.blobs[0].size,
          openTarball: () => ctx.transfer.meter(ctx.blobs.open(a.blobs[0]), { subject: `npm ${a.name}@${a.version}`, digest: a.blobs[0].digest, total: a.blobs[0].size }),
        });
        const url = new URL(escapeName(a.name), ep.url);
        const res = await ctx.http.request(url, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', 'content-length': String(doc.length), accept: 'application/json', ...ep.headers() },
          body: () => doc.open(),
          side: 'target',
        });
        if (res.status === 409 && !base) {
          await res.body.dump();
          return 409;
        }
        if (res.status < 200 || res.status > 299) {
          try {
            await failStatus(res, 'PUT', 'target', res.status === 401 || res.status === 403 ? `the user of target ${ctx.target.name} may not publish ${a.name}` : res.status === 413 ? 'the registry (or a proxy before it) refuses a body this large: raise its limit (verdaccio max_body_size, nginx client_max_body_size)' : undefined);
          } catch (e) {
            if (e instanceof TargetError) throw new TargetError(redact(`npm ${a.name}@${a.version}: ${e.message}`, ep.secrets()), { subject: `${a.name}@${a.version}`, hint: e.hint, cause: e });
            throw e;
          }
        }
        await res.body.dump();
        return res.status;
      });
      if ((await put()) !== 409) return;
      // libnpmpublish: on a conflict, read the document for writing, merge our version in, retry once.
      const latest = await targetPackument(ep, a.name, ctx, true);
      if (presence(a, latest, want, safeUrl(ep.url)) === 'present') return;
      const base: Record<string, unknown> = { ...(latest ?? {}) };
      delete base._attachments;
      await put(base);
    });
  },
};
