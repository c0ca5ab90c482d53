import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RepositoryDef, StorageGeneration } from './types.js';

/** One stored asset, with the fields the search API reports (AssetXO, docs/reference/nexus-api.md §10). */
export interface StoredAsset {
  id: string;
  repository: string;
  format: string;
  /** Path inside the repository, no leading slash. */
  path: string;
  file: string;
  size: number;
  checksum: { sha1: string; sha256: string; sha512: string; md5: string };
  contentType: string;
  lastModified: string;
  uploader?: string;
  /** The component the asset belongs to; for raw: group `/<dir>`, name = path (search `name=`). */
  component: { group?: string; name: string; version?: string };
}

/**
 * Refusal to write because of the repository's write policy (docs/reference/nexus-api.md §11). The message depends on
 * the storage generation: OrientDB before 3.71, SQL after.
 */
export class WritePolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WritePolicyError';
  }
}

export interface PutOptions {
  contentType?: string;
  uploader?: string;
  component?: StoredAsset['component'];
}

/**
 * Assets of every repository: bytes in files under `dir` (streamed, hashed while written), metadata in
 * memory. Enforces write policy ALLOW / ALLOW_ONCE / DENY the way Nexus does: the body is received,
 * then the commit is refused.
 */
export class AssetStore {
  private readonly byRepo = new Map<string, Map<string, StoredAsset>>();

  constructor(private readonly dir: string, private readonly generation: () => StorageGeneration, private readonly baseUrl: () => string) {}

  get(repository: string, path: string): StoredAsset | undefined {
    return this.byRepo.get(repository)?.get(strip(path));
  }

  list(repository?: string): StoredAsset[] {
    if (repository) return [...(this.byRepo.get(repository)?.values() ?? [])];
    return [...this.byRepo.values()].flatMap((m) => [...m.values()]);
  }

  open(asset: StoredAsset): Readable {
    return createReadStream(asset.file);
  }

  async read(repository: string, path: string): Promise<Buffer | undefined> {
    const a = this.get(repository, path);
    return a ? readFile(a.file) : undefined;
  }

  downloadUrl(a: Pick<StoredAsset, 'repository' | 'path'>): string {
    return `${this.baseUrl()}repository/${a.repository}/${a.path}`;
  }

  /** Store `source` at `path`, or throw WritePolicyError (after reading the body, as Nexus does). */
  async put(repo: RepositoryDef, path: string, source: Readable | Buffer | Uint8Array, opts: PutOptions = {}): Promise<StoredAsset> {
    path = strip(path);
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `tmp-${randomBytes(8).toString('hex')}`);
    const hashes = { sha1: createHash('sha1'), sha256: createHash('sha256'), sha512: createHash('sha512'), md5: createHash('md5') };
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _e, cb) {
        for (const h of Object.values(hashes)) h.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    const input = source instanceof Readable ? source : Readable.from([Buffer.from(source)]);
    await pipeline(input, meter, createWriteStream(tmp));
    try {
      this.checkWritePolicy(repo, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const file = join(this.dir, `blob-${randomBytes(8).toString('hex')}`);
    await rename(tmp, file);
    const old = this.get(repo.name, path);
    if (old) await rm(old.file, { force: true });
    const asset: StoredAsset = {
      id: Buffer.from(`${repo.name}:${path}`).toString('base64url'),
      repository: repo.name,
      format: repo.format,
      path,
      file,
      size,
      checksum: { sha1: hashes.sha1.digest('hex'), sha256: hashes.sha256.digest('hex'), sha512: hashes.sha512.digest('hex'), md5: hashes.md5.digest('hex') },
      contentType: opts.contentType ?? 'application/octet-stream',
      lastModified: new Date().toISOString(),
      uploader: opts.uploader,
      component: opts.component ?? { name: path },
    };
    let m = this.byRepo.get(repo.name);
    if (!m) this.byRepo.set(repo.name, (m = new Map()));
    m.set(path, asset);
    return asset;
  }

  async delete(repository: string, path: string): Promise<boolean> {
    const a = this.get(repository, path);
    if (!a) return false;
    this.byRepo.get(repository)!.delete(a.path);
    await rm(a.file, { force: true });
    return true;
  }

  private checkWritePolicy(repo: RepositoryDef, path: string): void {
    const policy = repo.writePolicy ?? 'ALLOW_ONCE';
    const exists = this.get(repo.name, path) !== undefined;
    const sql = this.generation() === 'sql';
    // Messages: Orient StorageTxImpl ("Repository does not allow updating assets: <repo>"),
    // SQL ContentFacetSupport ("<repo>/<path> cannot be updated", "… is read-only") — docs/reference/nexus-api.md §11.
    if (policy === 'DENY') throw new WritePolicyError(sql ? `${repo.name}/${path} is read-only` : `Repository is read-only: ${repo.name}`);
    if (policy === 'ALLOW_ONCE' && exists) throw new WritePolicyError(sql ? `${repo.name}/${path} cannot be updated` : `Repository does not allow updating assets: ${repo.name}`);
  }
}

function strip(p: string): string {
  return p.replace(/^\/+/, '');
}
