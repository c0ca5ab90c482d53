import { createHash } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Artifact, type BlobSource, type BundleIndex, type Descriptor, jsonSyntaxWhere, openRegularFile, readRegularFile, IntegrityError, TrustError, isDigest, shown } from '@airgap/core';
import { BlobReader, type BlobLocation, type PartLocation } from './blob-reader.js';
import {
  BLOB_PREFIX,
  BUNDLE_JSON,
  BUNDLE_SCHEMA,
  type BundleDescriptor,
  CARRIED_FILE_RE,
  INDEX_ENTRY,
  OCI_INDEX_ENTRY,
  OCI_LAYOUT_BYTES,
  OCI_LAYOUT_ENTRY,
  SBOM_ENTRY,
  SIGNATURE_FILE,
  SUMS_FILE,
  neededDigests,
  ociIndexBytes,
} from './format.js';
import { type PublicKey, verifyMinisign } from './minisign.js';
import { PartHasher, takeEarlyHasher } from './part-hash.js';
import { partName } from './parts.js';
import { recoveryProblem } from './recovery.js';
import { checkCarried } from './carried.js';
import { TarStreamParser } from './tar.js';
import { type TarWalkResult, checkPartsAndTar } from './verify-parts.js';

export interface VerifyOptions {
  /** Keys whose signature is accepted (config `trust` and --pub). */
  trust: PublicKey[];
  /** Skip only the signature check (signer null). Loud in the CLI and recorded in the ledger. */
  insecureSkipSignature?: boolean;
  /** Progress: part bytes read and checked. */
  onBytes?: (n: number) => void;
  /**
   * The index-semantics pass (docs/security.md): called for every artifact and `base` artifact once the
   * index is proven to be the signed one; throws an IntegrityError naming the artifact and field. The CLI
   * passes each ecosystem's `validate` (src/unpack.ts); without it only the tar and hashes are checked.
   */
  validate?: (artifact: Artifact) => void | Promise<void>;
  /**
   * Called once bundle.json is signature-checked and parsed, before SHA256SUMS or any part is read: a
   * caller can refuse the bundle on what the signed descriptor says (unpack: a kind its target cannot take).
   */
  beforeParts?: (descriptor: BundleDescriptor) => void | Promise<void>;
}

export interface VerifiedBundle {
  dir: string;
  descriptor: BundleDescriptor;
  bundleJsonSha256: string;
  /** Key id of the trusted signer; null only with insecureSkipSignature. */
  signer: string | null;
  index: BundleIndex;
  /** Streams of exactly a blob's bytes, read across part boundaries and checked again while they flow. */
  blobs: BlobSource;
  /** The SBOM entry's bytes, checked against bundle.json's `sbom` (absent in older bundles). */
  sbom?: Buffer;
}

const MAX_BUNDLE_JSON = 16 << 20;
const MAX_INDEX = 512 << 20;
const MAX_SBOM = 256 << 20;
const HEX64 = /^[a-f0-9]{64}$/;

/**
 * Verify a bundle (docs/bundle-format.md, §6) and give access to its blobs. In order, trusting nothing before it is
 * checked: bundle.json's signature by a trusted key; SHA256SUMS against bundle.json; every part's
 * presence and size (before reading any); then every part's SHA-256, the parts hashed side by side
 * on the cores, while this thread walks the tar structure (names safe, no links or devices, index first
 * and matching bundle.json, every listed blob present at its size). Each byte is hashed once: a blob's
 * digest is checked again as it is read (`blobs`), and docs/security.md says why the signed part hashes
 * make a second hash at verify redundant. Nothing is written anywhere.
 * Faults are IntegrityError or TrustError (exit 3) naming the part, entry or key.
 */
export async function verifyBundle(dir: string, opts: VerifyOptions): Promise<VerifiedBundle> {
  const { descriptor, bundleJsonSha256, signer } = await verifyDescriptor(dir, opts);
  await opts.beforeParts?.(descriptor);
  // The CLI may have started hashing this directory's parts while it loaded (bin/run.js, hashEarly).
  const hasher = takeEarlyHasher(dir) ?? new PartHasher();
  try {
    // The hashing threads start now, so their start-up overlaps the checks below (only a thread count
    // comes from the descriptor before the parts are measured).
    hasher.start(descriptor.parts.length, descriptor.parts.reduce((n, p) => n + p.size, 0));
    await checkSums(dir, descriptor, bundleJsonSha256);
    await checkCarried(dir, descriptor);
    const parts = await checkPartFiles(dir, descriptor);
    const entries = await checkPartsAndTar(dir, descriptor, parts, hasher, opts.onBytes);
    const { index, blobs } = checkEntries(descriptor, entries);
    if (opts.validate) await validateIndex(index, opts.validate);
    const sbom = descriptor.sbom ? entries.collected.get(SBOM_ENTRY) : undefined;
    return { dir, descriptor, bundleJsonSha256, signer, index, blobs: new BlobReader(blobs, parts), ...(sbom ? { sbom } : {}) };
  } finally {
    await hasher.close();
  }
}

/**
 * The first step of verifyBundle alone: bundle.json's signature by a trusted key, then its shape. What it
 * returns may be trusted (with the part hashes it lists); the parts themselves are not read. For repair
 * and split, which must trust bundle.json before they touch a part or a recovery file.
 */
export async function verifyDescriptor(dir: string, opts: Pick<VerifyOptions, 'trust' | 'insecureSkipSignature'>): Promise<{ descriptor: BundleDescriptor; bundleJsonSha256: string; signer: string | null }> {
  const jsonPath = join(dir, BUNDLE_JSON);
  const jsonBytes = await readBounded(jsonPath, MAX_BUNDLE_JSON, 'the bundle descriptor');
  let signer: string | null = null;
  if (!opts.insecureSkipSignature) {
    const sigPath = join(dir, SIGNATURE_FILE);
    let sigText: string;
    try {
      sigText = (await readBounded(sigPath, 64 << 10, 'the signature')).toString('utf8');
    } catch (e) {
      if (e instanceof IntegrityError && (e.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
        throw new TrustError(`bundle ${dir} is unsigned: ${sigPath} is missing`, { subject: sigPath, hint: 'get the signature file with the bundle; only --insecure-skip-signature accepts an unsigned bundle' });
      }
      throw e instanceof IntegrityError ? new TrustError(e.message, { subject: sigPath, cause: e }) : e;
    }
    if (opts.trust.length === 0) {
      throw new TrustError(`no trusted public key to check ${sigPath} against`, { subject: sigPath, hint: 'pass the signer\'s key with --pub FILE or list it under `trust` in the config' });
    }
    try {
      signer = verifyMinisign(jsonBytes, sigText, opts.trust).keyId;
    } catch (e) {
      if (e instanceof TrustError) throw new TrustError(`${sigPath}: ${e.message}`, { subject: e.subject ?? sigPath, hint: e.hint, cause: e });
      throw e;
    }
  }
  const descriptor = parseDescriptor(jsonBytes, jsonPath);
  return { descriptor, bundleJsonSha256: createHash('sha256').update(jsonBytes).digest('hex'), signer };
}

/**
 * The quick first look `unpack` takes before its locks (docs/security.md): the bundle folder can be
 * listed, and bundle.json, its signature, SHA256SUMS and every part file in it are regular files (each
 * opened non-blocking and fstat'ed; a FIFO or device is exit 3 at once, never read). Nothing is hashed.
 */
export async function checkBundleFiles(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new IntegrityError(`bundle ${dir} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { subject: dir, cause: e });
  }
  for (const name of names.sort()) {
    if (name !== BUNDLE_JSON && name !== SIGNATURE_FILE && name !== SUMS_FILE && !/^part-\d+$/.test(name)) continue;
    await openRegularFile(join(dir, name), { max: Number.MAX_SAFE_INTEGER, what: `bundle file ${name}`, error: IntegrityError }).then(({ fh }) => fh.close());
  }
}

/**
 * Parse bundle.json WITHOUT checking its signature: for `inspect` without a key. Nothing it says is
 * trusted; use verifyBundle before acting on a bundle.
 */
export async function readBundleDescriptor(dir: string): Promise<BundleDescriptor> {
  const path = join(dir, BUNDLE_JSON);
  return parseDescriptor(await readBounded(path, MAX_BUNDLE_JSON, 'the bundle descriptor'), path);
}

/**
 * Read airgap-index.json from the first part(s) WITHOUT verifying signature or hashes: for `inspect`
 * without a key. Its contents are untrusted.
 */
export async function readIndexUnverified(dir: string): Promise<BundleIndex> {
  const d = await readBundleDescriptor(dir);
  const limit = Math.min(d.index.size, MAX_INDEX);
  const parser = new TarStreamParser({ createHash, firstName: INDEX_ENTRY, collect: { [INDEX_ENTRY]: limit }, firstOnly: true });
  try {
    for (const p of d.parts) {
      const fh = await open(join(dir, p.file), 'r').catch((e) => {
        throw new IntegrityError(`part ${p.file} of ${dir} is missing`, { subject: p.file, cause: e });
      });
      try {
        for (let pos = 0; !parser.done; ) {
          const buf = Buffer.allocUnsafe(1 << 20);
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) break;
          parser.push(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
      } finally {
        await fh.close();
      }
      if (parser.done) break;
    }
    parser.end();
  } catch (e) {
    if (e instanceof IntegrityError) throw e;
    throw new IntegrityError(`cannot read ${INDEX_ENTRY} from ${dir}: ${(e as Error).message}`, { subject: (e as { subject?: string }).subject ?? dir, cause: e });
  }
  return parseIndex(parser.collected.get(INDEX_ENTRY) ?? Buffer.alloc(0));
}

// ---------------------------------------------------------------------------------------------------

/** A bundle file: regular (opened non-blocking, never waiting on a FIFO), at most `max` bytes (docs/security.md). */
function readBounded(path: string, max: number, what: string): Promise<Buffer> {
  return readRegularFile(path, { max, what, error: IntegrityError });
}

function parseDescriptor(bytes: Buffer, path: string): BundleDescriptor {
  let d: BundleDescriptor;
  try {
    d = JSON.parse(bytes.toString('utf8')) as BundleDescriptor;
  } catch (e) {
    throw new IntegrityError(`${path} is not JSON: ${jsonSyntaxWhere(e, bytes.toString('utf8'))}`, { subject: path, cause: e });
  }
  const bad = (why: string) => new IntegrityError(`${path} is malformed: ${why}`, { subject: path, hint: 'this is not a bundle written by airgap, or it was damaged' });
  if (typeof d !== 'object' || d === null) throw bad('not an object');
  if (d.schema !== BUNDLE_SCHEMA) throw bad(`schema is ${JSON.stringify(d.schema)}, not ${BUNDLE_SCHEMA}`);
  if (typeof d.name !== 'string' || typeof d.created !== 'string') throw bad('name and created must be strings');
  if (!d.index || !HEX64.test(d.index.sha256) || !isSize(d.index.size)) throw bad('index needs a sha256 and a size');
  if (!Array.isArray(d.parts) || d.parts.length === 0) throw bad('no parts listed');
  d.parts.forEach((p, i) => {
    if (!p || p.file !== partName(i + 1)) throw bad(`part ${i + 1} must be named ${partName(i + 1)}`);
    if (!isSize(p.size) || !HEX64.test(p.sha256)) throw bad(`${p.file} needs a size and a sha256`);
  });
  if (!d.totals || !isSize(d.totals.artifacts) || !isSize(d.totals.blobs) || !isSize(d.totals.bytes)) throw bad('totals must be counts');
  const recovery = recoveryProblem(d.recovery);
  if (recovery) throw bad(recovery);
  if (d.sbom !== undefined && (!d.sbom || d.sbom.entry !== SBOM_ENTRY || !HEX64.test(d.sbom.sha256) || !isSize(d.sbom.size) || d.sbom.size > MAX_SBOM)) {
    throw bad(`sbom must name ${SBOM_ENTRY} with a sha256 and a size of at most ${MAX_SBOM} bytes`);
  }
  if (d.kinds !== undefined) {
    if (typeof d.kinds !== 'object' || d.kinds === null || Array.isArray(d.kinds)) throw bad('kinds must be an object of counts');
    for (const [k, n] of Object.entries(d.kinds)) if (!/^[a-z][a-z0-9-]*$/.test(k) || !isSize(n)) throw bad(`kinds: ${shown(k)} must be an artifact kind with a count`);
  }
  if (d.toolRelease !== undefined) {
    if (!Array.isArray(d.toolRelease)) throw bad('toolRelease must be a list');
    for (const c of d.toolRelease) {
      // A carried file's name becomes a path in the bundle directory: only the release's own names.
      if (!c || typeof c.file !== 'string' || !CARRIED_FILE_RE.test(c.file)) throw bad(`toolRelease names ${JSON.stringify(c?.file)}, not an airgap release file`);
      if (!isSize(c.size) || !HEX64.test(c.sha256)) throw bad(`toolRelease ${c.file} needs a size and a sha256`);
    }
  }
  return d;
}

function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** SHA256SUMS is for operators' `sha256sum -c`; a copy that disagrees with the signed bundle.json is tampering. */
async function checkSums(dir: string, d: BundleDescriptor, bundleJsonSha256: string): Promise<void> {
  const path = join(dir, SUMS_FILE);
  const text = (await readBounded(path, 16 << 20, 'the checksum list')).toString('utf8');
  const want = new Map<string, string>(d.parts.map((p) => [p.file, p.sha256]));
  for (const f of d.recovery?.files ?? []) want.set(f.file, f.sha256);
  want.set(BUNDLE_JSON, bundleJsonSha256);
  for (const c of d.toolRelease ?? []) want.set(c.file, c.sha256);
  const seen = new Set<string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const m = /^([a-f0-9]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new IntegrityError(`${path} line ${i + 1} is not "<sha256>  <file>"`, { subject: path });
    const [, hex, file] = m;
    const expected = want.get(file);
    if (expected === undefined) throw new IntegrityError(`${path} lists ${JSON.stringify(file)}, which bundle.json does not`, { subject: path, hint: 'SHA256SUMS was edited; get the bundle again' });
    if (expected !== hex) throw new IntegrityError(`${path} gives ${file} the sha256 ${hex}, but the signed bundle.json says ${expected}`, { subject: path, hint: 'SHA256SUMS was edited; get the bundle again' });
    seen.add(file);
  }
  for (const file of want.keys()) {
    if (!seen.has(file)) throw new IntegrityError(`${path} does not list ${file}`, { subject: path, hint: 'SHA256SUMS was edited or truncated; get the bundle again' });
  }
}

async function checkPartFiles(dir: string, d: BundleDescriptor): Promise<PartLocation[]> {
  const parts: PartLocation[] = [];
  let start = 0;
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const p of d.parts) {
    const path = join(dir, p.file);
    try {
      const st = await stat(path);
      if (!st.isFile()) wrong.push(`${p.file} is ${st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : 'a device or socket'}, not a regular file`);
      else if (st.size !== p.size) wrong.push(`${p.file} is ${st.size} bytes, expected ${p.size} (${st.size < p.size ? 'truncated' : 'extended'})`);
    } catch {
      missing.push(p.file);
    }
    parts.push({ file: p.file, path, start, size: p.size });
    start += p.size;
  }
  if (missing.length || wrong.length) {
    const msg = [missing.length ? `missing part${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` : '', ...wrong].filter(Boolean).join('; ');
    throw new IntegrityError(`bundle ${dir}: ${msg}`, { subject: missing[0] ?? wrong[0].split(' ')[0], hint: 'copy the named part(s) again from the source; SHA256SUMS lists their checksums' });
  }
  const listed = new Set(d.parts.map((p) => p.file));
  const stray = (await readdir(dir)).filter((f) => /^part-\d+$/.test(f) && !listed.has(f));
  if (stray.length) {
    throw new IntegrityError(`bundle ${dir} holds part files that bundle.json does not list: ${stray.join(', ')}`, { subject: stray[0], hint: 'a stale part from another bundle? `cat part-*` would not give this bundle; remove them' });
  }
  return parts;
}

function parseIndex(bytes: Buffer): BundleIndex {
  let index: BundleIndex;
  try {
    index = JSON.parse(bytes.toString('utf8')) as BundleIndex;
  } catch (e) {
    throw new IntegrityError(`${INDEX_ENTRY} is not JSON: ${jsonSyntaxWhere(e, bytes.toString('utf8'))}`, { subject: INDEX_ENTRY, cause: e });
  }
  const bad = (why: string) => new IntegrityError(`${INDEX_ENTRY} is malformed: ${why}`, { subject: INDEX_ENTRY });
  if (typeof index !== 'object' || index === null || index.schema !== 'airgap.index/v1') throw bad('schema is not airgap.index/v1');
  if (!Array.isArray(index.artifacts) || !Array.isArray(index.blobs)) throw bad('artifacts and blobs must be lists');
  for (const b of index.blobs) if (!b || !isDigest(b.digest) || !isSize(b.size)) throw bad(`blob ${JSON.stringify(b?.digest)} needs a sha256 digest and a size`);
  if (index.external !== undefined && (!Array.isArray(index.external) || !index.external.every((b) => b && isDigest(b.digest) && isSize(b.size) && typeof b.kind === 'string'))) {
    throw bad('external must list blobs with a sha256 digest, a size and a kind');
  }
  for (const a of index.artifacts) {
    if (!a || typeof a.kind !== 'string' || typeof a.name !== 'string' || !Array.isArray(a.blobs)) throw bad('every artifact needs kind, name and blobs');
    for (const b of a.blobs) if (!b || !isDigest(b.digest) || !isSize(b.size)) throw bad(`artifact ${a.name}: blob ${JSON.stringify(b?.digest)} needs a sha256 digest and a size`);
    if (a.oci && (!a.oci.root || !isDigest(a.oci.root.digest) || typeof a.oci.refName !== 'string')) throw bad(`artifact ${a.name}: oci needs a root descriptor and a refName`);
  }
  return index;
}

/** Index semantics, after the tar and hashes: every artifact by its ecosystem, in index order. */
async function validateIndex(index: BundleIndex, validate: (a: Artifact) => void | Promise<void>): Promise<void> {
  if (index.base !== undefined && !Array.isArray(index.base)) throw new IntegrityError(`${INDEX_ENTRY} is malformed: base must be a list`, { subject: INDEX_ENTRY });
  for (const a of index.artifacts) await validate(a);
  for (const a of index.base ?? []) await validate(a);
}

/** The tar's entries against bundle.json and the index: exactly the expected names, each blob once. */
function checkEntries(d: BundleDescriptor, r: TarWalkResult): { index: BundleIndex; blobs: Map<string, BlobLocation> } {
  const fault = (msg: string, subject: string) => new IntegrityError(msg, { subject, hint: 'the bundle was built by something other than airgap or tampered with before signing; do not use it' });
  const first = r.entries[0];
  if (first.size !== d.index.size || first.sha256 !== d.index.sha256) {
    throw fault(`${INDEX_ENTRY} (${first.size} bytes, sha256 ${first.sha256}) does not match bundle.json (${d.index.size} bytes, sha256 ${d.index.sha256})`, INDEX_ENTRY);
  }
  const index = parseIndex(r.collected.get(INDEX_ENTRY)!);
  const listed = new Map<string, Descriptor>(index.blobs.map((b) => [b.digest, b]));
  const blobs = new Map<string, BlobLocation>();
  const names = new Set<string>();
  for (const e of r.entries) {
    if (names.has(e.name)) throw fault(`tar entry ${JSON.stringify(e.name)} appears twice`, e.name);
    names.add(e.name);
    if (e.type === 'dir') {
      if (e.name !== 'blobs' && e.name !== 'blobs/sha256') throw fault(`unexpected directory ${JSON.stringify(e.name)} in the bundle`, e.name);
      continue;
    }
    if (e.name === INDEX_ENTRY) continue;
    if (e.name === OCI_LAYOUT_ENTRY) {
      if (!r.collected.get(e.name)!.equals(OCI_LAYOUT_BYTES)) throw fault(`${OCI_LAYOUT_ENTRY} is not {"imageLayoutVersion":"1.0.0"}`, e.name);
      continue;
    }
    if (e.name === SBOM_ENTRY && d.sbom) {
      if (e.size !== d.sbom.size || e.sha256 !== d.sbom.sha256) {
        throw fault(`${SBOM_ENTRY} (${e.size} bytes, sha256 ${e.sha256}) does not match bundle.json (${d.sbom.size} bytes, sha256 ${d.sbom.sha256})`, e.name);
      }
      continue;
    }
    if (e.name === OCI_INDEX_ENTRY) {
      if (!r.collected.get(e.name)!.equals(ociIndexBytes(index))) throw fault(`${OCI_INDEX_ENTRY} does not match the images in ${INDEX_ENTRY}`, e.name);
      continue;
    }
    const hex = e.name.startsWith(BLOB_PREFIX) ? e.name.slice(BLOB_PREFIX.length) : '';
    if (!HEX64.test(hex)) throw fault(`unexpected file ${JSON.stringify(e.name)} in the bundle`, e.name);
    const digest = `sha256:${hex}`;
    const want = listed.get(digest);
    if (!want) throw fault(`blob ${digest} is in the tar but not in ${INDEX_ENTRY}`, e.name);
    if (want.size !== e.size) throw fault(`blob ${digest} is ${e.size} bytes, ${INDEX_ENTRY} says ${want.size}`, e.name);
    blobs.set(digest, { digest, offset: e.offset, size: e.size });
  }
  for (const name of [OCI_LAYOUT_ENTRY, OCI_INDEX_ENTRY, ...(d.sbom ? [SBOM_ENTRY] : [])]) if (!names.has(name)) throw fault(`the bundle has no ${name}`, name);
  for (const digest of listed.keys()) if (!blobs.has(digest)) throw fault(`blob ${digest} is listed in ${INDEX_ENTRY} but missing from the tar`, digest);
  for (const [digest, artifact] of neededDigests(index)) if (!blobs.has(digest)) throw fault(`${artifact} needs blob ${digest}, which is not in the bundle`, digest);
  if (d.totals.blobs !== blobs.size || d.totals.artifacts !== index.artifacts.length) {
    throw fault(`bundle.json totals (${d.totals.artifacts} artifacts, ${d.totals.blobs} blobs) do not match ${INDEX_ENTRY} (${index.artifacts.length}, ${blobs.size})`, BUNDLE_JSON);
  }
  return { index, blobs };
}
