/**
 * PAR2 2.0 packets as airgap writes them (docs/transfer.md "How airgap writes PAR2", docs/bundle-format.md
 * "Recovery files"): every packet is a 64-byte header (magic `PAR2\0PKT`, length, MD5 of everything from
 * the recovery set ID on, recovery set ID, type) and a body that is a multiple of 4 bytes, all integers
 * little-endian. The recovery set ID is the MD5 of the main packet's body.
 * The checksums and recovery blocks come from recovery-worker.ts; this module encodes the packets.
 */
/** A part as the critical packets describe it. */
export interface Par2Hashed {
  name: string;
  length: number;
  md5: Buffer;
  hash16k: Buffer;
  /** Per block: MD5 (16 bytes) then CRC32 (4, little-endian), the last block zero-padded to the block size. */
  checksums: Buffer;
}

export function makePar2(md5: (...parts: Uint8Array[]) => Buffer) {
  const MAGIC = Buffer.from('PAR2\0PKT', 'latin1');
  const type = (t: string) => Buffer.from(('PAR 2.0\0' + t + '\0'.repeat(8)).slice(0, 16), 'latin1');
  const TYPES = { main: type('Main'), desc: type('FileDesc'), ifsc: type('IFSC'), recovery: type('RecvSlic'), creator: type('Creator') };
  const pad4 = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return b;
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    return b;
  };
  /** Header for a packet of `bodyLength` bytes whose MD5 (over set ID, type and body) is `hash`. */
  const header = (setId: Buffer, t: Buffer, bodyLength: number, hash: Buffer) => Buffer.concat([MAGIC, u64(64 + bodyLength), hash, setId, t]);
  const packet = (setId: Buffer, t: Buffer, body: Buffer) => Buffer.concat([header(setId, t, body.length, md5(setId, t, body)), body]);
  /** File IDs in PAR2's order: as 128-bit little-endian numbers (par2cmdline compares from byte 15 down). */
  const byId = (a: Buffer, b: Buffer) => {
    for (let i = 15; i >= 0; i--) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return 0;
  };
  const fileId = (hash16k: Buffer, length: number, name: string) => md5(hash16k, u64(length), Buffer.from(name, 'latin1'));
  const mainBody = (blockSize: number, ids: Buffer[]) => Buffer.concat([u64(blockSize), u32(ids.length), ...[...ids].sort(byId)]);
  const CREATOR = pad4(Buffer.from('Created by airgap (docs/transfer.md)', 'latin1'));
  const nameBytes = (name: string) => pad4(Buffer.from(name, 'latin1'));
  /** Bytes of the critical packets (main, per file a description and block checksums, creator) for files with these names and block counts. */
  const criticalSize = (files: { name: string; blocks: number }[]) =>
    64 + 12 + 16 * files.length + files.reduce((n, f) => n + 64 + 56 + nameBytes(f.name).length + 64 + 16 + 20 * f.blocks, 0) + 64 + CREATOR.length;
  /** The recovery set ID and the critical packets of a set, in the order airgap writes them. */
  const critical = (blockSize: number, files: Par2Hashed[]) => {
    const ids = files.map((f) => fileId(f.hash16k, f.length, f.name));
    const main = mainBody(blockSize, ids);
    const setId = md5(main);
    const packets = [packet(setId, TYPES.main, main)];
    files.forEach((f, i) => {
      packets.push(packet(setId, TYPES.desc, Buffer.concat([ids[i]!, f.md5, f.hash16k, u64(f.length), nameBytes(f.name)])));
      packets.push(packet(setId, TYPES.ifsc, Buffer.concat([ids[i]!, f.checksums])));
    });
    packets.push(packet(setId, TYPES.creator, CREATOR));
    return { setId, bytes: Buffer.concat(packets) };
  };
  return { TYPES, header, u32, fileId, mainBody, criticalSize, critical, byId };
}

/** Where one PAR2 file's packets go: the critical packets at offset 0, recovery slice `exponent` at `at`. */
export interface Par2FileLayout {
  file: string;
  size: number;
  slices: { exponent: number; at: number }[];
}

/** Recovery slice packet: header, 4-byte exponent, then the block. */
export const SLICE_HEADER = 68;

/**
 * The files of a set as par2cmdline names them (`bundle.par2` with only the critical packets, then
 * `bundle.volFIRST+COUNT.par2`, the digits as wide as the largest FIRST and COUNT), with the recovery
 * blocks spread evenly over `volumes`. Each volume holds one copy of the critical packets, then its
 * slices, so any single file still describes the whole set.
 */
export function layoutPar2(criticalSize: number, blockSize: number, recoveryBlocks: number, volumes: number): Par2FileLayout[] {
  const counts = Array.from({ length: volumes }, (_, v) => Math.floor(recoveryBlocks / volumes) + (v < recoveryBlocks % volumes ? 1 : 0));
  const firsts = counts.map((_, v) => counts.slice(0, v).reduce((n, c) => n + c, 0));
  const wide = (n: number) => String(n).length;
  const [wf, wc] = [wide(Math.max(...firsts)), wide(Math.max(...counts))];
  const out: Par2FileLayout[] = [{ file: 'bundle.par2', size: criticalSize, slices: [] }];
  counts.forEach((count, v) => {
    const slices = Array.from({ length: count }, (_, k) => ({ exponent: firsts[v]! + k, at: criticalSize + k * (SLICE_HEADER + blockSize) }));
    const file = `bundle.vol${String(firsts[v]).padStart(wf, '0')}+${String(count).padStart(wc, '0')}.par2`;
    out.push({ file, size: criticalSize + count * (SLICE_HEADER + blockSize), slices });
  });
  return out;
}
