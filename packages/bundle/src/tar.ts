/**
 * The bundle's tar stream (docs/bundle-format.md): POSIX ustar headers, with a pax extended header only where ustar
 * cannot say it (a name over 100 bytes or not ASCII, a size of 8 GiB or more). Headers are
 * deterministic: mtime = the bundle's created time, uid/gid 0, no uname/gname, mode 0644/0755.
 *
 * Hand-written rather than the `tar` package: the writer only ever emits three kinds of header and
 * streams file data straight through, and the reader must run inside a worker thread from a single
 * self-contained class (see verify.ts), with strict rules (no links, no devices, no unsafe names) that
 * are easier to state here than to bolt onto a general extractor.
 */

export const BLOCK = 512;
/** GNU tar writes in records of 20 blocks; padding the end to a record keeps `tar` and `cat` byte-equal. */
export const RECORD = 20 * BLOCK;
const USTAR_MAX_SIZE = 0o77777777777;

export interface TarHeaderInput {
  name: string;
  size: number;
  type: 'file' | 'dir';
  mtime: Date;
}

function writeOctal(buf: Buffer, value: number, offset: number, length: number): void {
  // length-1 octal digits, zero padded, then NUL (POSIX ustar numeric fields).
  buf.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'latin1');
}

function plainHeader(name: string, size: number, typeflag: string, mode: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  writeOctal(h, mode, 100, 8);
  writeOctal(h, 0, 108, 8);
  writeOctal(h, 0, 116, 8);
  writeOctal(h, size, 124, 12);
  writeOctal(h, mtime, 136, 12);
  h.write(typeflag, 156, 1, 'latin1');
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

function paxRecord(key: string, value: string): string {
  // "<len> <key>=<value>\n" where len counts the whole record including its own digits.
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Header bytes for one entry (a pax extended header first when needed). Data and padding follow. */
export function tarHeader(e: TarHeaderInput): Buffer {
  const mtime = Math.floor(e.mtime.getTime() / 1000);
  const mode = e.type === 'dir' ? 0o755 : 0o644;
  const typeflag = e.type === 'dir' ? '5' : '0';
  const name = e.type === 'dir' && !e.name.endsWith('/') ? e.name + '/' : e.name;
  const records: string[] = [];
  const nameFits = Buffer.byteLength(name) <= 100 && /^[\x20-\x7e]*$/.test(name);
  if (!nameFits) records.push(paxRecord('path', name));
  if (e.size > USTAR_MAX_SIZE) records.push(paxRecord('size', String(e.size)));
  const header = plainHeader(nameFits ? name : asciiStub(name), Math.min(e.size, USTAR_MAX_SIZE), typeflag, mode, mtime);
  if (records.length === 0) return header;
  const pax = Buffer.from(records.join(''), 'utf8');
  const paxHeader = plainHeader(asciiStub('PaxHeaders/' + name), pax.length, 'x', 0o644, mtime);
  return Buffer.concat([paxHeader, pax, Buffer.alloc(padding(pax.length)), header]);
}

function asciiStub(name: string): string {
  return name.replace(/[^\x20-\x7e]/g, '_').slice(-100);
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The end of archive: two zero blocks, then zeros up to a whole record after `written` bytes. */
export function tarTrailer(written: number): Buffer {
  const end = written + 2 * BLOCK;
  return Buffer.alloc(2 * BLOCK + ((RECORD - (end % RECORD)) % RECORD));
}

// ---------------------------------------------------------------------------------------------------

export interface TarEntry {
  name: string;
  type: 'file' | 'dir';
  /** Offset of the entry's data in the whole tar stream. */
  offset: number;
  size: number;
  /** Hex sha256 of the data (files only; not for blobs read with skipBlobData). */
  sha256?: string;
}

export interface TarParserOptions {
  /** node:crypto createHash, passed in so the class has no imports (it is also run as a worker's source). */
  createHash: (alg: string) => { update(b: Uint8Array): unknown; digest(enc: 'hex'): string };
  /** The name the first entry must have. */
  firstName?: string;
  /** Keep the bytes of files with these names, up to the byte limit each (larger → error). */
  collect?: Record<string, number>;
  /** Names `blobs/sha256/<hex>` must hash to <hex>; checked as each entry ends. */
  checkBlobNames?: boolean;
  /** Stop after the first entry (reading the index only). */
  firstOnly?: boolean;
  /**
   * Neither hash nor keep the data of `blobs/sha256/<hex>` entries (that are not collected): their
   * bytes may then be skipped unread (skippable(), skip()). For a walk over parts whose hashes are
   * checked separately (docs/security.md); cannot be combined with checkBlobNames.
   */
  skipBlobData?: boolean;
}

/**
 * A strict, incremental tar reader. push() chunks in order; it throws an Error with `subject` (the entry
 * or byte offset at fault) on anything unsafe or malformed: links, devices, FIFOs, absolute or `..`
 * names, bad header checksums, non-zero bytes after the end of archive, or a truncated stream (end()).
 *
 * Self-contained on purpose (no imports, no module-level helpers): verify.ts ships this class's source
 * text to a worker thread.
 */
export class TarStreamParser {
  readonly entries: TarEntry[] = [];
  readonly collected = new Map<string, Buffer>();
  done = false;
  private pos = 0;
  private header: Buffer = Buffer.alloc(512);
  private headerFill = 0;
  private state: 'header' | 'data' | 'meta' | 'pad' | 'end' = 'header';
  private remaining = 0;
  private padLeft = 0;
  private cur: { name: string; type: 'file' | 'dir'; offset: number; size: number; hash?: { update(b: Uint8Array): unknown; digest(enc: 'hex'): string }; keep?: Buffer[]; keepLimit?: number } | undefined;
  private meta: { kind: 'x' | 'L'; parts: Buffer[]; size: number } | undefined;
  private paxPath: string | undefined;
  private paxSize: number | undefined;
  private longName: string | undefined;
  private sawZeroBlock = false;

  constructor(private readonly opts: TarParserOptions) {
    if (opts.skipBlobData && opts.checkBlobNames) throw new Error('skipBlobData and checkBlobNames exclude each other');
  }

  /** Offset in the tar stream of the next byte push() expects. */
  get position(): number {
    return this.pos;
  }

  /** Data bytes at the current position that the parser needs not see (a blob's data with skipBlobData). */
  skippable(): number {
    return this.state === 'data' && !this.cur?.hash && !this.cur?.keep ? this.remaining : 0;
  }

  /** Step over `n` ≤ skippable() bytes without reading them. */
  skip(n: number): void {
    if (n <= 0) return;
    if (n > this.skippable()) this.fail(`cannot skip ${n} bytes at tar offset ${this.pos}`);
    this.remaining -= n;
    this.pos += n;
    if (this.remaining === 0) this.finishEntry();
  }

  private fail(message: string, subject?: string): never {
    const e = new Error(message) as Error & { subject?: string };
    e.subject = subject ?? `tar offset ${this.pos}`;
    throw e;
  }

  push(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n && !this.done) {
      switch (this.state) {
        case 'header': {
          const take = Math.min(512 - this.headerFill, n - i);
          if (this.headerFill === 0 && take === 512) {
            this.header = Buffer.from(chunk.buffer, chunk.byteOffset + i, 512);
          } else {
            if (this.headerFill === 0) this.header = Buffer.alloc(512);
            this.header.set(chunk.subarray(i, i + take), this.headerFill);
          }
          this.headerFill += take;
          i += take;
          this.pos += take;
          if (this.headerFill === 512) {
            this.headerFill = 0;
            this.onHeader(this.header);
          }
          break;
        }
        case 'data': {
          const take = Math.min(this.remaining, n - i);
          const piece = chunk.subarray(i, i + take);
          const c = this.cur!;
          c.hash?.update(piece);
          if (c.keep) c.keep.push(Buffer.from(piece));
          this.remaining -= take;
          i += take;
          this.pos += take;
          if (this.remaining === 0) this.finishEntry();
          break;
        }
        case 'meta': {
          const take = Math.min(this.remaining, n - i);
          this.meta!.parts.push(Buffer.from(chunk.subarray(i, i + take)));
          this.remaining -= take;
          i += take;
          this.pos += take;
          if (this.remaining === 0) this.finishMeta();
          break;
        }
        case 'pad': {
          const take = Math.min(this.padLeft, n - i);
          // Padding is zeros; anything else is data no entry accounts for.
          for (let k = i; k < i + take; k++) if (chunk[k] !== 0) this.fail(`non-zero padding byte at tar offset ${this.pos + (k - i)}`);
          this.padLeft -= take;
          i += take;
          this.pos += take;
          if (this.padLeft === 0) this.state = 'header';
          break;
        }
        case 'end': {
          // After the end-of-archive block only zero padding may follow: anything else is hidden data.
          for (; i < n; i++, this.pos++) {
            if (chunk[i] !== 0) this.fail(`non-zero byte after the end of the tar archive at offset ${this.pos}`);
          }
          break;
        }
      }
    }
  }

  /** Call after the last chunk: the archive must be complete. */
  end(): void {
    if (this.done) return;
    if (this.state === 'end') {
      this.done = true;
      return;
    }
    if (this.state === 'header' && this.headerFill === 0 && this.entries.length > 0 && !this.cur && !this.meta) {
      this.fail('the tar stream has no end-of-archive marker (truncated?)');
    }
    this.fail(`the tar stream ends inside ${this.cur ? JSON.stringify(this.cur.name) : 'a header'} (truncated)`, this.cur?.name);
  }

  private static octal(h: Buffer, off: number, len: number): number {
    // GNU base-256 for large values: high bit of the first byte set.
    if (h[off] & 0x80) {
      if (h[off] !== 0x80) return NaN;
      let v = 0;
      for (let k = off + 1; k < off + len; k++) v = v * 256 + h[k];
      return v;
    }
    let s = '';
    for (let k = off; k < off + len; k++) {
      const c = h[k];
      if (c === 0) break;
      s += String.fromCharCode(c);
    }
    s = s.trim();
    if (s === '') return 0;
    return /^[0-7]+$/.test(s) ? parseInt(s, 8) : NaN;
  }

  private static cstr(h: Buffer, off: number, len: number): string {
    let end = off;
    while (end < off + len && h[end] !== 0) end++;
    return h.toString('utf8', off, end);
  }

  private onHeader(h: Buffer): void {
    const headerAt = this.pos - 512;
    let zero = true;
    for (let k = 0; k < 512; k++) {
      if (h[k] !== 0) {
        zero = false;
        break;
      }
    }
    if (zero) {
      if (this.paxPath !== undefined || this.longName !== undefined || this.paxSize !== undefined) this.fail('an extended header is followed by the end of the archive');
      if (this.entries.length === 0) this.fail('the tar stream is empty');
      this.sawZeroBlock = true;
      this.state = 'end';
      if (this.opts.firstOnly) this.done = true;
      return;
    }
    let sum = 0;
    let signed = 0;
    for (let k = 0; k < 512; k++) {
      const b = k >= 148 && k < 156 ? 0x20 : h[k];
      sum += b;
      signed += b > 127 ? b - 256 : b;
    }
    const stored = TarStreamParser.octal(h, 148, 8);
    if (stored !== sum && stored !== signed) this.fail(`bad tar header checksum at offset ${headerAt}`);
    const typeflag = String.fromCharCode(h[156] || 0x30);
    const magic = h.toString('latin1', 257, 263);
    let name = TarStreamParser.cstr(h, 0, 100);
    if (magic === 'ustar\u0000' || magic === 'ustar ') {
      const prefix = magic === 'ustar\u0000' ? TarStreamParser.cstr(h, 345, 155) : '';
      if (prefix) name = prefix + '/' + name;
    }
    let size = TarStreamParser.octal(h, 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) this.fail(`bad size field in the tar header of ${JSON.stringify(name)}`, name);

    if (typeflag === 'x' || typeflag === 'L') {
      if (size > 1 << 20) this.fail(`oversized ${typeflag === 'x' ? 'pax' : 'GNU long name'} header (${size} bytes) at offset ${headerAt}`);
      this.meta = { kind: typeflag, parts: [], size };
      this.remaining = size;
      this.padLeft = (512 - (size % 512)) % 512;
      if (size === 0) this.finishMeta();
      else this.state = 'meta';
      return;
    }
    if (this.longName !== undefined) name = this.longName;
    if (this.paxPath !== undefined) name = this.paxPath;
    if (this.paxSize !== undefined) size = this.paxSize;
    this.longName = this.paxPath = this.paxSize = undefined;

    const shown = JSON.stringify(name);
    const kinds: Record<string, string> = { '1': 'a hard link', '2': 'a symbolic link', '3': 'a character device', '4': 'a block device', '6': 'a FIFO', g: 'a pax global header', K: 'a GNU long link name' };
    if (typeflag !== '0' && typeflag !== '5') {
      this.fail(`tar entry ${shown} is ${kinds[typeflag] ?? `of unsupported type ${JSON.stringify(typeflag)}`}; a bundle holds only regular files and directories`, name);
    }
    const type = typeflag === '5' ? 'dir' : 'file';
    if (type === 'dir' && name.endsWith('/')) name = name.replace(/\/+$/, '');
    if (name === '' || name.startsWith('/') || name.includes('\0') || name.includes('\\') || name.split('/').some((s) => s === '..' || s === '') || /^[A-Za-z]:/.test(name)) {
      this.fail(`unsafe tar entry name ${shown}: names must be relative, without "..", empty segments or backslashes`, name);
    }
    if (this.entries.length === 0 && this.opts.firstName !== undefined && (name !== this.opts.firstName || type !== 'file')) {
      this.fail(`the first tar entry is ${shown}, not ${this.opts.firstName}`, name);
    }
    if (type === 'dir' && size !== 0) this.fail(`directory entry ${shown} has a size (${size})`, name);
    const cur: NonNullable<TarStreamParser['cur']> = { name, type, offset: this.pos, size };
    if (type === 'file') {
      const limit = this.opts.collect?.[name];
      if (!this.opts.skipBlobData || limit !== undefined || !name.startsWith('blobs/sha256/')) cur.hash = this.opts.createHash('sha256');
      if (limit !== undefined) {
        if (size > limit) this.fail(`tar entry ${shown} is ${size} bytes, more than the expected ${limit}`, name);
        cur.keep = [];
      }
    }
    this.cur = cur;
    this.remaining = size;
    this.padLeft = (512 - (size % 512)) % 512;
    if (size === 0) this.finishEntry();
    else this.state = 'data';
  }

  private finishMeta(): void {
    const m = this.meta!;
    this.meta = undefined;
    const data = Buffer.concat(m.parts);
    if (m.kind === 'L') {
      this.longName = TarStreamParser.cstr(data, 0, data.length);
    } else {
      let at = 0;
      while (at < data.length) {
        const sp = data.indexOf(0x20, at);
        const len = sp > at ? Number(data.toString('latin1', at, sp)) : NaN;
        if (!Number.isSafeInteger(len) || len <= 0 || at + len > data.length || data[at + len - 1] !== 0x0a) this.fail(`malformed pax header at offset ${this.pos - m.size}`);
        const rec = data.toString('utf8', sp + 1, at + len - 1);
        const eq = rec.indexOf('=');
        const key = rec.slice(0, eq);
        const value = rec.slice(eq + 1);
        if (key === 'path') this.paxPath = value;
        else if (key === 'size') {
          if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) this.fail(`bad pax size ${JSON.stringify(value)}`);
          this.paxSize = Number(value);
        } else if (key === 'linkpath') this.fail(`pax header gives a link path ${JSON.stringify(value)}; a bundle holds no links`);
        at += len;
      }
    }
    this.state = this.padLeft ? 'pad' : 'header';
  }

  private finishEntry(): void {
    const c = this.cur!;
    this.cur = undefined;
    const entry: TarEntry = { name: c.name, type: c.type, offset: c.offset, size: c.size };
    if (c.hash) entry.sha256 = c.hash.digest('hex');
    if (c.keep) this.collected.set(c.name, Buffer.concat(c.keep));
    if (this.opts.checkBlobNames && c.type === 'file' && c.name.startsWith('blobs/sha256/') && entry.sha256 !== c.name.slice('blobs/sha256/'.length)) {
      this.fail(`blob ${JSON.stringify(c.name)} is corrupt: its bytes hash to sha256:${entry.sha256}`, c.name);
    }
    this.entries.push(entry);
    this.state = this.padLeft ? 'pad' : 'header';
    if (this.opts.firstOnly) this.done = true;
  }
}
