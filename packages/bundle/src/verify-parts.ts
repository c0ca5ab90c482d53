import { createHash } from 'node:crypto';
import { IntegrityError } from '@airgap/core';
import type { PartLocation } from './blob-reader.js';
import { type BundleDescriptor, INDEX_ENTRY, OCI_INDEX_ENTRY, OCI_LAYOUT_ENTRY, SBOM_ENTRY } from './format.js';
import type { PartHasher } from './part-hash.js';
import { type TarEntry, TarStreamParser } from './tar.js';
import { walkTar } from './tar-walk.js';

export interface TarWalkResult {
  entries: TarEntry[];
  collected: Map<string, Buffer>;
}

const MAX_INDEX = 512 << 20;
const MAX_SMALL_FILE = 1 << 20;

/**
 * The content checks of a bundle whose part files were listed and measured (docs/security.md): every
 * part's SHA-256 against the signed bundle.json, the parts hashed side by side on the cores
 * (PartHasher); meanwhile, on this thread, one walk over the tar structure that reads every header,
 * padding byte, the index and the OCI layout files but steps over blob data, which the part hashes
 * already cover. Each byte is hashed once. A part mismatch outranks a tar error: the message names the
 * damaged part rather than a symptom inside it.
 */
export async function checkPartsAndTar(dir: string, d: BundleDescriptor, parts: PartLocation[], hasher: PartHasher, onBytes?: (n: number) => void): Promise<TarWalkResult> {
  if (d.index.size > MAX_INDEX) throw new IntegrityError(`${INDEX_ENTRY} is ${d.index.size} bytes, more than the ${MAX_INDEX} allowed`, { subject: INDEX_ENTRY });
  const parser = new TarStreamParser({
    createHash,
    firstName: INDEX_ENTRY,
    collect: { [INDEX_ENTRY]: d.index.size, [OCI_LAYOUT_ENTRY]: MAX_SMALL_FILE, [OCI_INDEX_ENTRY]: MAX_SMALL_FILE, ...(d.sbom ? { [SBOM_ENTRY]: d.sbom.size } : {}) },
    skipBlobData: true,
  });
  const walked = walkTar(parts, parser).then(
    () => undefined,
    (e: Error & { subject?: string }) => e,
  );
  let digests;
  try {
    digests = await hasher.hash(parts, onBytes);
  } catch (e) {
    const part = (e as { part?: string }).part;
    throw new IntegrityError(`part ${part ?? '?'} of ${dir} cannot be read: ${(e as Error).message}`, { subject: part ?? dir, hint: 'copy the part again from the source', cause: e });
  }
  for (const [i, part] of parts.entries()) {
    const got = digests[i];
    if (got.read < part.size) {
      throw new IntegrityError(`part ${part.file} is shorter than the ${part.size} bytes bundle.json lists (it changed during verification)`, { subject: part.file });
    }
    const want = d.parts[i].sha256;
    if (got.sha256 !== want) {
      throw new IntegrityError(`part ${part.file} is corrupt: sha256 ${got.sha256}, bundle.json says ${want}`, { subject: part.file, hint: `copy ${part.file} again from the source` });
    }
  }
  const tarError = await walked;
  if (tarError) {
    throw new IntegrityError(`bundle ${dir}: ${tarError.message}`, { subject: tarError.subject, hint: 'the bundle was built by something other than airgap or tampered with before signing; do not use it' });
  }
  return { entries: parser.entries, collected: parser.collected };
}
