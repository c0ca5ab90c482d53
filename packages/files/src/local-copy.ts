import { createReadStream, type BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type Descriptor, type SourceContext, OCTET_STREAM } from '@airgap/core';

/** What a local file was when it was read into the cache (a store ref, docs/manifest.md "files"). */
interface LocalRef {
  digest: string;
  size: number;
  dev: string;
  ino: string;
  mtimeNs: string;
  ctimeNs: string;
}

/**
 * A file changed this recently is not recorded: a write in the same timestamp tick as the read would not
 * change its times (file systems keep them to a jiffy, FAT to 2 s), so the next pack reads it again.
 */
const SETTLE_NS = 3_000_000_000n;

const same = (r: LocalRef, s: BigIntStats) =>
  r.size === Number(s.size) && r.dev === String(s.dev) && r.ino === String(s.ino) && r.mtimeNs === String(s.mtimeNs) && r.ctimeNs === String(s.ctimeNs);

/**
 * A local file (a `files:` path, or a file of a folder tree) into the content store. The first pack reads
 * and hashes it into the cache; a later pack reuses that copy without reading the file while its device,
 * inode, size and modification and change times (to the nanosecond) are the ones recorded when it was
 * read, as `make` and `git` decide a file is unchanged. Any write to the file, a `touch` or a file moved
 * into its place changes them (the change time cannot be set back), so the file is read again. Before,
 * every pack copied every local file into the cache and flushed it to disk (8 s per 2 GiB here) only to
 * find the cache already had those bytes.
 */
export async function cacheLocalFile(ctx: SourceContext, path: string, want: { digest?: string; size?: number; subject: string }): Promise<Descriptor> {
  const key = 'local:' + path;
  const before = await stat(path, { bigint: true });
  const ref = await ctx.store.getRef<LocalRef>(key);
  if (ref && same(ref, before) && (!want.digest || want.digest === ref.digest) && (want.size === undefined || want.size === ref.size) && (await ctx.store.size(ref.digest)) === ref.size) {
    return { mediaType: OCTET_STREAM, digest: ref.digest, size: ref.size };
  }
  const d = await ctx.store.put(createReadStream(path, { highWaterMark: 1 << 20 }), want);
  const after = await stat(path, { bigint: true });
  const rec: LocalRef = { digest: d.digest, size: d.size, dev: String(before.dev), ino: String(before.ino), mtimeNs: String(before.mtimeNs), ctimeNs: String(before.ctimeNs) };
  // Recorded only when the file did not change while it was read and its last change is settled.
  if (same(rec, after) && BigInt(Date.now()) * 1_000_000n - before.ctimeNs > SETTLE_NS) await ctx.store.setRef(key, rec);
  return d;
}
