import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Artifact, type Descriptor, type PublishContext, type PublishHalf, TargetError, digestHex, writeFileAtomic, writeStreamAtomic } from '@airgap/core';
import { OCI_INDEX, plainDescriptor } from './media.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  [k: string]: unknown;
}

function layoutDir(ctx: PublishContext): string {
  if (ctx.target.type !== 'dir') throw new TargetError('the OCI dir publisher was used with a non-dir target');
  return join(ctx.target.path, 'oci');
}

function blobPath(dir: string, digest: string): string {
  return join(dir, 'blobs', 'sha256', digestHex(digest));
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

async function readIndex(dir: string): Promise<LayoutIndex> {
  const path = join(dir, 'index.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
  }
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
 * `oci/` in a directory mirror: an OCI image layout (SPEC §7), readable by skopeo/oras/containerd and
 * served by `airgap serve`. Blobs are written under temporary names and renamed; `index.json` is
 * rewritten once per run, atomically, in `finalize` (not once per image: hauler's O(N²) lesson).
 */
export const imageDirPublisher: PublishHalf = {
  async exists(a, ctx) {
    const dir = layoutDir(ctx);
    if ((await sizeOf(blobPath(dir, a.digest))) !== a.oci?.root.size) return 'absent';
    const ref = refOf(a);
    const entry = (await readIndex(dir)).manifests.find((m) => m.annotations?.[REF_NAME] === ref);
    if (!entry) return 'absent';
    if (entry.digest !== a.digest) {
      ctx.log.warn(`image ${ref}: ${join(dir, 'index.json')} points it to ${entry.digest}; it will be moved to ${a.digest}`);
      return 'absent';
    }
    return 'present';
  },

  async blobExists(_a, d, ctx) {
    return (await sizeOf(blobPath(layoutDir(ctx), d.digest))) === d.size;
  },

  async publish(a, ctx) {
    const dir = layoutDir(ctx);
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    if ((await sizeOf(join(dir, 'oci-layout'))) === undefined) await writeFileAtomic(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await Promise.all(a.blobs.map((d) => ctx.transfer.run(async () => {
      const final = blobPath(dir, d.digest);
      if ((await sizeOf(final)) === d.size) return;
      await writeStreamAtomic(ctx.blobs.open(d), final);
    })));
  },

  async finalize(artifacts, ctx) {
    const dir = layoutDir(ctx);
    const index = await readIndex(dir);
    let changed = false;
    for (const a of artifacts) {
      if (!a.oci) continue;
      // Only images whose every blob is in place get a ref (a failed publish leaves none).
      const sizes = await Promise.all(a.blobs.map((b) => sizeOf(blobPath(dir, b.digest))));
      if (sizes.some((s, i) => s !== a.blobs[i].size)) continue;
      const ref = a.oci.refName;
      const entry = { ...plainDescriptor(a.oci.root), annotations: { ...(a.oci.root.annotations ?? {}), [REF_NAME]: ref } };
      const i = index.manifests.findIndex((m) => m.annotations?.[REF_NAME] === ref);
      if (i >= 0 && index.manifests[i].digest === entry.digest) continue;
      if (i >= 0) index.manifests[i] = entry;
      else index.manifests.push(entry);
      changed = true;
    }
    if (!changed) return;
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, 'index.json'), JSON.stringify(index));
  },
};
