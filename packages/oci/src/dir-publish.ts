import { type Artifact, type ConfinedRoot, type Descriptor, type PublishContext, type PublishHalf, TargetError, digestHex, dirMirror } from '@airgap/core';
import { OCI_INDEX, plainDescriptor } from './media.js';
import { checkTagMove, mayMoveTag } from './tags.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  [k: string]: unknown;
}

/** `oci/` of the mirror; every write goes through the confined root (docs/security.md). */
function layoutDir(ctx: PublishContext): ConfinedRoot {
  return dirMirror(ctx, 'oci');
}

function blobPath(digest: string): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

async function sizeOf(dir: ConfinedRoot, rel: string): Promise<number | undefined> {
  const st = await dir.stat(rel);
  return st?.isFile() ? st.size : undefined;
}

async function readIndex(dir: ConfinedRoot): Promise<LayoutIndex> {
  const path = dir.path('index.json');
  const text = await dir.readFile('index.json', 'utf8').catch(() => undefined);
  if (text === undefined) return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
  try {
    const doc = JSON.parse(text) as LayoutIndex;
    if (!Array.isArray(doc.manifests)) throw new Error('no manifests array');
    return doc;
  } catch (e) {
    throw new TargetError(`${path} is not an OCI image index (${(e as Error).message})`, { subject: path, hint: 'move the broken file away; airgap rebuilds it from the blobs it publishes' });
  }
}

function refOf(a: Artifact): string {
  if (!a.oci) throw new TargetError(`image ${a.name}: no OCI root in the bundle index`);
  return a.oci.refName;
}

/**
 * `oci/` in a directory mirror: an OCI image layout (docs/design.md), readable by skopeo/oras/containerd and
 * served by `airgap serve`. Blobs are written under temporary names and renamed; `index.json` is
 * rewritten once per run, atomically, in `finalize` (not once per image: hauler's O(N²) lesson).
 */
export const imageDirPublisher: PublishHalf = {
  async exists(a, ctx) {
    const dir = layoutDir(ctx);
    if ((await sizeOf(dir, blobPath(a.digest))) !== a.oci?.root.size) return 'absent';
    const ref = refOf(a);
    const entry = (await readIndex(dir)).manifests.find((m) => m.annotations?.[REF_NAME] === ref);
    if (!entry) return 'absent';
    if (entry.digest !== a.digest) {
      // Moved in finalize; said, recorded, or refused with immutableTags (packages/oci/src/tags.ts).
      checkTagMove(a, entry.digest, dir.path('index.json'), ctx);
      return 'absent';
    }
    return 'present';
  },

  async blobExists(_a, d, ctx) {
    return (await sizeOf(layoutDir(ctx), blobPath(d.digest))) === d.size;
  },

  async publish(a, ctx) {
    const dir = layoutDir(ctx);
    await dir.mkdir('blobs/sha256');
    if ((await sizeOf(dir, 'oci-layout')) === undefined) await dir.writeFile('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await Promise.all(a.blobs.map((d) => ctx.transfer.run(async () => {
      const final = blobPath(d.digest);
      if ((await sizeOf(dir, final)) === d.size) return;
      await dir.writeStream(final, ctx.blobs.open(d));
    })));
    // finalize moves the ref; what it points to now goes into the ledger (`previous`).
    const ref = refOf(a);
    const current = (await readIndex(dir)).manifests.find((m) => m.annotations?.[REF_NAME] === ref)?.digest;
    if (current && current !== a.digest) {
      checkTagMove(a, current, dir.path('index.json'), ctx, { quiet: true });
      return { previous: current };
    }
    return {};
  },

  async finalize(artifacts, ctx) {
    const dir = layoutDir(ctx);
    const index = await readIndex(dir);
    let changed = false;
    for (const a of artifacts) {
      if (!a.oci) continue;
      // Only images whose every blob is in place get a ref (a failed publish leaves none).
      const sizes = await Promise.all(a.blobs.map((b) => sizeOf(dir, blobPath(b.digest))));
      if (sizes.some((s, i) => s !== a.blobs[i].size)) continue;
      const ref = a.oci.refName;
      const entry = { ...plainDescriptor(a.oci.root), annotations: { ...(a.oci.root.annotations ?? {}), [REF_NAME]: ref } };
      const i = index.manifests.findIndex((m) => m.annotations?.[REF_NAME] === ref);
      if (i >= 0 && index.manifests[i].digest === entry.digest) continue;
      // An immutableTags target keeps the ref where it is (exists refused this image, naming both digests).
      if (i >= 0 && !mayMoveTag(a, index.manifests[i].digest, ctx)) continue;
      if (i >= 0) index.manifests[i] = entry;
      else index.manifests.push(entry);
      changed = true;
    }
    if (!changed) return;
    await dir.writeFile('index.json', JSON.stringify(index));
  },
};
