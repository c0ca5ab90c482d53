import {
  type Artifact, type Descriptor, type Endpoint, type EndpointPublishHalf, type EndpointResolver, type PublishContext, InternalError,
} from '@airgap/core';
import { targetClient } from './clients.js';
import { isManifestType } from './media.js';
import { type ImageNames, targetRepository } from './reference.js';
import type { RegistryClient } from './registry.js';
import type { ImageMeta } from './source.js';
import { checkTagMove } from './tags.js';

function endpointOf(ctx: PublishContext): Endpoint {
  const resolver = ctx.services.endpoints as EndpointResolver | undefined;
  if (!resolver) throw new InternalError(`target ${ctx.target.name}: no endpoints service for docker images`);
  return resolver.endpoint('docker');
}

interface Place {
  client: RegistryClient;
  repo: string;
  meta: ImageMeta;
  label: string;
  /** Where the tag lives at the target: `host/path/repo:tag`. */
  at: string;
}

/** Where an image goes at the target: `<endpoint>/<host>/<repository>` or, with `imageNames: strip-host`, `<endpoint>/<repository>` (docs/config.md). */
function placeOf(a: Artifact, ctx: PublishContext): Place {
  const ep = endpointOf(ctx);
  const meta = a.meta as unknown as ImageMeta;
  const mode = ((ctx.target.config as { imageNames?: ImageNames }).imageNames ?? 'keep-host') as ImageNames;
  const repo = targetRepository(meta.registry, meta.repository, mode);
  const host = new URL(ep.url);
  const at = `${host.host}${host.pathname === '/' ? '/' : host.pathname}${repo}${meta.tag ? ':' + meta.tag : '@' + a.digest}`;
  return { client: targetClient(ep, ctx), repo, meta, at, label: `image ${a.oci?.refName ?? a.name} → ${at}` };
}

function manifestBlobs(a: Artifact, meta: ImageMeta): Descriptor[] {
  const byDigest = new Map(a.blobs.map((b) => [b.digest, b]));
  return meta.manifests.map((d) => {
    const b = byDigest.get(d);
    if (!b) throw new InternalError(`image ${a.name}: manifest ${d} is not among its blobs`);
    return b;
  });
}

/**
 * Publish to any Docker/OCI registry endpoint (Nexus docker connector, Harbor, Docker's registry):
 * blobs first (HEAD, then monolithic POST+PUT), then manifests children before parents, byte-for-byte
 * with Content-Type = mediaType, the root last under its tag (docs/design.md).
 */
export const imageEndpointPublisher: EndpointPublishHalf = {
  format: () => 'docker',

  async exists(a, ctx) {
    const { client, repo, meta, label, at } = placeOf(a, ctx);
    const run = ctx.transfer.run.bind(ctx.transfer);
    const current = await run(async () => (meta.tag ? client.resolveTag(repo, meta.tag, label) : (await client.headManifest(repo, a.digest)) ? a.digest : undefined));
    if (!current) return 'absent';
    if (current !== a.digest) {
      // Tags are pointers: moving one loses nothing (the old image stays addressable by digest), as a
      // registry push would do; said, recorded, or refused with immutableTags (packages/oci/src/tags.ts).
      checkTagMove(a, current, at, ctx);
      return 'absent';
    }
    const manifests = manifestBlobs(a, meta);
    const others = a.blobs.filter((b) => !meta.manifests.includes(b.digest));
    let missing = false;
    await Promise.all([...manifests, ...others].map((d) => run(async () => {
      if (missing) return;
      const here = meta.manifests.includes(d.digest) ? Boolean(await client.headManifest(repo, d.digest)) : await client.hasBlob(repo, d.digest);
      if (!here) missing = true;
    })));
    return missing ? 'absent' : 'present';
  },

  async blobExists(a, d, ctx) {
    const { client, repo } = placeOf(a, ctx);
    return ctx.transfer.run(() => client.hasBlob(repo, d.digest));
  },

  async publish(a, ctx) {
    const { client, repo, meta, label, at } = placeOf(a, ctx);
    const manifests = manifestBlobs(a, meta);
    const others = a.blobs.filter((b) => !isManifestType(b.mediaType) || !meta.manifests.includes(b.digest));
    const run = ctx.transfer.run.bind(ctx.transfer);
    const upload = (d: Descriptor) => () => ctx.transfer.meter(ctx.blobs.open(d), { subject: `${label}: blob ${d.digest}`, digest: d.digest, total: d.size });
    // Each blob is one transfer under the engine's limit: the HEAD that asks, then the upload. Its bytes
    // reach the progress through the meter's transfer events only (docs/transfers.md, progress). A blob
    // two images of this run send to one repository at once (shared layers, one image by tag and by
    // digest) is sent once: Docker's registry rewrites a repository's blob link on every upload, and a
    // manifest PUT that reads the link mid-rewrite is refused (400, blob unknown).
    const once = (d: Descriptor, fn: () => Promise<void>) => ctx.transfer.once(`push\0${ctx.target.name}\0${repo}\0${d.digest}`, fn);
    // Manifest PUTs into one repository go one at a time: a PUT rewrites the manifest's revision link,
    // and an index PUT checking that very child (an image listed as `repo:multi` and `repo:amd64`) would
    // read it mid-rewrite. They are small; blobs stay parallel.
    const manifestPut = <T>(fn: () => Promise<T>) => ctx.transfer.serial(`manifests\0${ctx.target.name}\0${repo}`, () => run(fn));
    await Promise.all(others.map((d) => once(d, () => run(async () => {
      if (await client.hasBlob(repo, d.digest)) return;
      await client.pushBlob(repo, d, upload(d));
    }))));
    // Children before parents: a registry (Nexus included) refuses an index whose manifests are missing.
    for (const d of manifests.slice(1).reverse()) {
      await once(d, () => manifestPut(async () => {
        if (await client.headManifest(repo, d.digest)) return;
        await client.putManifest(repo, d.digest, d, () => ctx.blobs.open(d));
      }));
    }
    const root = manifests[0];
    // The tag is asked again right before it is set: what it pointed to goes into the ledger (`previous`),
    // and a tag moved meanwhile is still refused at an immutableTags target.
    const tag = meta.tag;
    const previous = tag ? await run(() => client.resolveTag(repo, tag, label)) : undefined;
    if (previous && previous !== a.digest) checkTagMove(a, previous, at, ctx, { quiet: true });
    await manifestPut(() => client.putManifest(repo, tag ?? a.digest, root, () => ctx.blobs.open(root)));
    return previous && previous !== a.digest ? { previous } : {};
  },
};
