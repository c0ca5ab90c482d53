import { randomBytes, createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type BundleIndex, type Descriptor, IntegrityError, InternalError, UsageError, isDigest, syncDir, writeNewSynced } from '@airgap/core';
import {
  BLOB_PREFIX,
  BUNDLE_JSON,
  BUNDLE_SCHEMA,
  type BundleDescriptor,
  type CarriedFile,
  INDEX_ENTRY,
  OCI_INDEX_ENTRY,
  OCI_LAYOUT_BYTES,
  OCI_LAYOUT_ENTRY,
  SBOM_ENTRY,
  SIGNATURE_FILE,
  SUMS_FILE,
  bundleStamp,
  neededDigests,
  ociIndexBytes,
  trustedComment,
} from './format.js';
import { type SecretKey, signMinisign } from './minisign.js';
import { PartWriter, partSizes } from './parts.js';
import { type RecoveryRun, startRecovery } from './recovery.js';
import { copyCarried } from './carried.js';
import { partHeads, tarPieces } from './tar-plan.js';

export interface BundleBlob {
  descriptor: Descriptor;
  open(): Readable;
  /**
   * The blob as a file on disk (e.g. ContentStore.path(digest)), if it is one. The writer then reads
   * it straight into its own reused buffers instead of calling open(): several times less CPU than a
   * stream that allocates every chunk (test/bench/bundle.mjs).
   */
  path?: string;
  /**
   * Resolves when the blob is complete (still downloading into the cache when the writer starts): the
   * writer waits for it when it reaches the blob, so downloads overlap part writing. A rejection stops
   * the write (the temporary directory is removed).
   */
  ready?: Promise<void>;
}

export interface WriteBundleOptions {
  /** Parent folder; the bundle goes to outDir/<name>-<UTC yyyymmddThhmmssZ>/. */
  outDir: string;
  name: string;
  created: Date;
  /** Becomes airgap-index.json, the first tar entry. */
  index: BundleIndex;
  /** Each written once as blobs/sha256/<hex> (repeated digests are written once). */
  blobs: BundleBlob[];
  /** Bytes per part; every part is exactly this size except the last. */
  chunkSize: number;
  key: SecretKey;
  toolVersion: string;
  /** The receipt an incremental bundle is relative to (recorded in bundle.json), default null. */
  base?: unknown | null;
  /** What --keep-going skipped; omitted from bundle.json when undefined. */
  incomplete?: unknown;
  /** Awaited after the last blob, before the tar ends and bundle.json is signed (e.g. every download checked). */
  until?: Promise<void>;
  /** Progress: bytes written to parts. */
  onBytes?: (n: number) => void;
  /** `--recovery PERCENT`: PAR2 recovery files beside the parts (docs/transfer.md); none when undefined. */
  recovery?: number;
  /** The CycloneDX JSON SBOM of the index: written as the second tar entry and listed in bundle.json. */
  sbom?: Buffer;
  /** Files copied beside the parts (airgap's own release, docs/release.md): listed in bundle.json `toolRelease` and SHA256SUMS. */
  carry?: { file: string; path: string }[];
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Write a signed bundle (docs/bundle-format.md) and return its final directory. Everything is written under a
 * temporary name in outDir and renamed into place only when complete and fsynced; on any error the
 * temporary directory is removed, so a failed pack leaves nothing behind (docs/exit-codes.md).
 */
export async function writeBundle(opts: WriteBundleOptions): Promise<{ dir: string; descriptor: BundleDescriptor; bytes: number }> {
  if (!NAME_RE.test(opts.name)) {
    throw new UsageError(`bundle name ${JSON.stringify(opts.name)} cannot be a directory name`, { subject: opts.name, hint: 'use letters, digits, ".", "_" and "-"' });
  }
  if (Number.isNaN(opts.created.getTime())) throw new UsageError('bundle created time is not a valid date');
  const stamp = bundleStamp(opts.created);
  const created = opts.created.toISOString();
  const finalDir = join(opts.outDir, `${opts.name}-${stamp}`);
  const blobs = uniqueBlobs(opts);
  // Awaited in turn below; a rejection that comes before the writer reaches it is handled here, not lost.
  for (const p of [...blobs.map((b) => b.ready), opts.until]) p?.catch(() => undefined);

  await mkdir(opts.outDir, { recursive: true });
  if (await exists(finalDir)) {
    throw new UsageError(`${finalDir} already exists`, { subject: finalDir, hint: 'a bundle of this name and time was already written; remove it or pack again later' });
  }
  const tmp = join(opts.outDir, `.${opts.name}-${stamp}.partial-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp);
  const indexBytes = Buffer.from(JSON.stringify(opts.index, null, 2) + '\n');
  // The tar stream, piece by piece (tar-plan.ts): its length is known before the first byte, so the recovery
  // data can be planned (block size, count) and computed while the parts are written (docs/transfer.md).
  const small: [string, Buffer][] = [[INDEX_ENTRY, indexBytes], ...(opts.sbom ? [[SBOM_ENTRY, opts.sbom] as [string, Buffer]] : []), [OCI_LAYOUT_ENTRY, OCI_LAYOUT_BYTES], [OCI_INDEX_ENTRY, ociIndexBytes(opts.index)]];
  const { pieces, length } = tarPieces(small, ['blobs/', BLOB_PREFIX], blobs, opts.created);
  const sizes = partSizes(length, opts.chunkSize);
  let recovery: RecoveryRun | undefined;
  const parts = new PartWriter(tmp, opts.chunkSize, (n) => {
    recovery?.written(n);
    opts.onBytes?.(n);
  });
  try {
    if (opts.recovery) recovery = startRecovery(tmp, sizes, opts.chunkSize, opts.recovery, partHeads(pieces, sizes));
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1) await opts.until; // the trailer: after every download is checked
      if ('bytes' in piece) await parts.write(piece.bytes);
      else {
        await piece.blob.ready;
        await copyBlob(piece.blob, parts);
      }
    }
    // The last recovery work runs while the parts are flushed to disk; both finish before the seal.
    const { parts: partList, synced } = await parts.close();
    const recoveryInfo = recovery ? await recovery.finish(partList) : undefined;
    await synced;
    const carried: CarriedFile[] = [];
    for (const c of opts.carry ?? []) carried.push(await copyCarried(c, tmp));

    const descriptor: BundleDescriptor = {
      schema: BUNDLE_SCHEMA,
      name: opts.name,
      created,
      tool: opts.toolVersion,
      signer: opts.key.keyId,
      index: { sha256: createHash('sha256').update(indexBytes).digest('hex'), size: indexBytes.length },
      parts: partList,
      totals: { artifacts: opts.index.artifacts.length, blobs: blobs.length, bytes: blobs.reduce((n, b) => n + b.descriptor.size, 0) },
      base: opts.base ?? null,
      ...(opts.incomplete === undefined ? {} : { incomplete: opts.incomplete }),
      ...(recoveryInfo ? { recovery: recoveryInfo } : {}),
      ...(opts.sbom ? { sbom: { entry: SBOM_ENTRY, sha256: createHash('sha256').update(opts.sbom).digest('hex'), size: opts.sbom.length, format: 'CycloneDX 1.6 JSON' } } : {}),
      ...(carried.length ? { toolRelease: carried } : {}),
      kinds: kindCounts(opts.index),
    };
    await sealBundle(tmp, descriptor, opts.key);
    if (await exists(finalDir)) {
      throw new UsageError(`${finalDir} appeared while the bundle was written`, { subject: finalDir, hint: 'another pack wrote the same bundle; remove one and pack again' });
    }
    await rename(tmp, finalDir);
    await syncDir(opts.outDir);
    return { dir: finalDir, descriptor, bytes: partList.reduce((n, p) => n + p.size, 0) };
  } catch (e) {
    await parts.abort();
    await recovery?.abort();
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Write bundle.json, its signature and SHA256SUMS (every part, every recovery file, bundle.json) into
 * `dir`, each fsynced, then the folder: the last step before a bundle directory is renamed into place.
 */
export async function sealBundle(dir: string, descriptor: BundleDescriptor, key: SecretKey): Promise<void> {
  const bundleJson = Buffer.from(JSON.stringify(descriptor, null, 2) + '\n');
  await writeSynced(join(dir, BUNDLE_JSON), bundleJson);
  await writeSynced(join(dir, SIGNATURE_FILE), Buffer.from(signMinisign(bundleJson, key, trustedComment(descriptor))));
  const listed = [...descriptor.parts, ...(descriptor.recovery?.files ?? []), ...(descriptor.toolRelease ?? [])];
  const sums = [...listed.map((p) => `${p.sha256}  ${p.file}\n`), `${createHash('sha256').update(bundleJson).digest('hex')}  ${BUNDLE_JSON}\n`].join('');
  await writeSynced(join(dir, SUMS_FILE), Buffer.from(sums));
  await syncDir(dir);
}

function kindCounts(index: BundleIndex): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const a of [...index.artifacts, ...(index.base ?? [])]) kinds[a.kind] = (kinds[a.kind] ?? 0) + 1;
  return kinds;
}

function uniqueBlobs(opts: WriteBundleOptions): BundleBlob[] {
  const byDigest = new Map<string, BundleBlob>();
  for (const b of opts.blobs) {
    const d = b.descriptor;
    if (!isDigest(d.digest) || !Number.isSafeInteger(d.size) || d.size < 0) {
      throw new InternalError(`blob descriptor ${JSON.stringify(d.digest)} (size ${d.size}) is not a sha256 digest with a size`, { subject: String(d.digest) });
    }
    const seen = byDigest.get(d.digest);
    if (seen && seen.descriptor.size !== d.size) {
      throw new InternalError(`blob ${d.digest} is given twice with different sizes (${seen.descriptor.size}, ${d.size})`, { subject: d.digest });
    }
    if (!seen) byDigest.set(d.digest, b);
  }
  // The index must describe exactly the blobs written, and every artifact's blobs must be among them:
  // the verifier refuses anything else, so refuse to write it.
  const listed = new Map(opts.index.blobs.map((d) => [d.digest, d]));
  for (const [digest, b] of byDigest) {
    const d = listed.get(digest);
    if (!d) throw new InternalError(`blob ${digest} is written but not listed in the index`, { subject: digest });
    if (d.size !== b.descriptor.size) throw new InternalError(`blob ${digest}: index says ${d.size} bytes, blob says ${b.descriptor.size}`, { subject: digest });
  }
  for (const digest of listed.keys()) {
    if (!byDigest.has(digest)) throw new InternalError(`blob ${digest} is listed in the index but not given to the writer`, { subject: digest });
  }
  for (const [digest, artifact] of neededDigests(opts.index)) {
    if (!byDigest.has(digest)) throw new InternalError(`${artifact} needs blob ${digest}, which is not in the bundle`, { subject: digest });
  }
  return [...byDigest.values()];
}

async function copyBlob(blob: BundleBlob, parts: PartWriter): Promise<void> {
  const { digest, size } = blob.descriptor;
  const damaged = 'the content store is damaged; remove the blob from the cache and pack again';
  if (blob.path !== undefined) {
    const fh = await open(blob.path, 'r');
    try {
      const actual = (await fh.stat()).size;
      if (actual !== size) throw new IntegrityError(`blob ${digest} (${blob.path}) has ${actual} bytes, not ${size}`, { subject: digest, hint: damaged });
      const n = await parts.writeFrom(fh, size);
      if (n !== size) throw new IntegrityError(`blob ${digest} (${blob.path}) shrank to ${n} bytes while it was written`, { subject: digest, hint: damaged });
    } finally {
      await fh.close();
    }
    return;
  }
  const stream = blob.open();
  let n = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      n += chunk.length;
      // The tar header already promised `size` bytes: a longer or shorter blob would corrupt the stream.
      if (n > size) throw new IntegrityError(`blob ${digest} has more than its ${size} bytes`, { subject: digest, hint: damaged });
      await parts.write(chunk);
    }
  } finally {
    stream.destroy();
  }
  if (n !== size) throw new IntegrityError(`blob ${digest} has ${n} bytes, not ${size}`, { subject: digest, hint: damaged });
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

const writeSynced = (path: string, data: Buffer) => writeNewSynced(path, data);

/** fsync a folder (moved to core: packages/core/src/atomic-file.ts). */
export { syncDir };
