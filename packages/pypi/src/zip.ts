import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

/**
 * Just enough of the ZIP format (APPNOTE 4.3) to read one small member of a wheel from its central
 * directory, without extracting anything else: the end-of-central-directory record (and its ZIP64
 * locator), the central directory entries, one local header and the member's data.
 */
export interface RandomAccess {
  /** Total size in bytes. */
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
  /** The last `length` bytes (one HTTP suffix range). */
  tail?(length: number): Promise<Buffer>;
}

export class ZipFormatError extends Error {}

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const EOCD64_LOCATOR_SIG = 0x07064b50;
const EOCD64_SIG = 0x06064b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
/** EOCD is 22 bytes plus a comment of at most 65535. */
const TAIL = 22 + 0xffff + 20;

export async function readCentralDirectory(zip: RandomAccess): Promise<ZipEntry[]> {
  const tailLen = Math.min(zip.size, TAIL);
  const tail = zip.tail ? await zip.tail(tailLen) : await zip.read(zip.size - tailLen, tailLen);
  const tailStart = zip.size - tail.length;
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG) { eocd = i; break; }
  }
  if (eocd < 0) throw new ZipFormatError('no end-of-central-directory record: not a zip file');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || cdSize === 0xffffffff || count === 0xffff) {
    const loc = eocd - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== EOCD64_LOCATOR_SIG) throw new ZipFormatError('ZIP64 end-of-central-directory locator missing');
    const eocd64Offset = Number(tail.readBigUInt64LE(loc + 8));
    const rec = eocd64Offset >= tailStart ? tail.subarray(eocd64Offset - tailStart) : await zip.read(eocd64Offset, 56);
    if (rec.readUInt32LE(0) !== EOCD64_SIG) throw new ZipFormatError('ZIP64 end-of-central-directory record missing');
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > zip.size) throw new ZipFormatError('central directory lies outside the file');
  const cd = cdOffset >= tailStart ? tail.subarray(cdOffset - tailStart, cdOffset - tailStart + cdSize) : await zip.read(cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CDH_SIG) throw new ZipFormatError('corrupt central directory entry');
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let uncompressedSize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    // ZIP64 extended information (header id 1) carries the fields that overflowed, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 1) {
        let q = e + 4;
        if (uncompressedSize === 0xffffffff) { uncompressedSize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (compressedSize === 0xffffffff) { compressedSize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (localHeaderOffset === 0xffffffff) { localHeaderOffset = Number(cd.readBigUInt64LE(q)); }
      }
      e += 4 + len;
    }
    entries.push({ name, method, compressedSize, uncompressedSize, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Read one member (stored or deflated); meant for small members such as METADATA. */
export async function readEntry(zip: RandomAccess, entry: ZipEntry, maxSize = 16 << 20): Promise<Buffer> {
  if (entry.uncompressedSize > maxSize) throw new ZipFormatError(`${entry.name} is ${entry.uncompressedSize} bytes, more than the ${maxSize} allowed`);
  const header = await zip.read(entry.localHeaderOffset, 30);
  if (header.readUInt32LE(0) !== LFH_SIG) throw new ZipFormatError(`corrupt local header of ${entry.name}`);
  const dataStart = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const data = entry.compressedSize ? await zip.read(dataStart, entry.compressedSize) : Buffer.alloc(0);
  if (entry.method === 0) return data;
  if (entry.method === 8) return inflateRawSync(data, { maxOutputLength: maxSize });
  throw new ZipFormatError(`${entry.name} uses zip compression method ${entry.method}, which wheels do not use`);
}

/**
 * The `METADATA` member of a wheel: `{distribution}-{version}.dist-info/METADATA` (PEP 427). The
 * dist-info folder is matched by the wheel's own name, so a vendored dist-info elsewhere is not taken.
 */
export function findWheelMetadata(entries: ZipEntry[], distribution: string, version: string): ZipEntry | undefined {
  const canon = (s: string) => s.replace(/[-_.]+/g, '_').toLowerCase();
  const want = `${canon(distribution)}-${canon(version)}.dist-info/metadata`;
  const top = entries.filter((e) => /^[^/]+\.dist-info\/METADATA$/.test(e.name));
  return top.find((e) => canon(e.name.split('/')[0].replace(/\.dist-info$/, '')) + '.dist-info/metadata' === want) ?? (top.length === 1 ? top[0] : undefined);
}

/** A local file as RandomAccess (a wheel already in the content store). */
export async function fileRandomAccess(path: string): Promise<RandomAccess & { close(): Promise<void> }> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    size,
    async read(offset, length) {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      if (bytesRead !== length) throw new ZipFormatError(`short read at ${offset}`);
      return buf;
    },
    close: () => fh.close(),
  };
}
