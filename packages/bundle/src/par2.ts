/**
 * The PAR2 side of recovery data (docs/transfer.md, docs/bundle-format.md): airgap writes the files
 * (par2-write.ts, recovery-worker.ts), par2cmdline (Debian's `par2`) repairs them, and this module reads
 * the critical packets, so verify can say how many blocks of a damaged part are lost and whether the
 * recovery blocks suffice.
 * Packet layout from the Parity Volume Set Specification 2.0: a 64-byte header (magic, length,
 * packet MD5, recovery set id, type) then the body.
 */
import { open } from 'node:fs/promises';
import { InternalError, UsageError } from '@airgap/core';

const MAGIC = Buffer.from('PAR2\0PKT', 'latin1');
const HEADER = 64;
const TYPE_MAIN = 'PAR 2.0\0Main\0\0\0\0';
const TYPE_FILEDESC = 'PAR 2.0\0FileDesc';
const TYPE_IFSC = 'PAR 2.0\0IFSC\0\0\0\0';
const TYPE_RECOVERY = 'PAR 2.0\0RecvSlic';
/** Critical packets are small; a larger one means the file is not what bundle.json's hash said. */
const MAX_CRITICAL_PACKET = 64 << 20;

export interface Par2File {
  name: string;
  length: number;
  /** MD5 of each block (the last one zero-padded to the block size), in file order. */
  blockMd5: Buffer[];
}

export interface Par2Set {
  blockSize: number;
  files: Map<string, Par2File>;
  /** Recovery blocks (RecvSlic packets) in the file read. */
  recoveryBlocks: number;
}

/**
 * Read a PAR2 file's packets: the main, file-description and block-checksum packets in full, recovery
 * slices only counted. Only called on files whose sha256 matched the signed bundle.json, so a malformed
 * packet is an internal error, not an attack to survive.
 */
export async function readPar2(path: string): Promise<Par2Set> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    let blockSize = 0;
    let recoveryBlocks = 0;
    const names = new Map<string, { name: string; length: number }>();
    const checksums = new Map<string, Buffer[]>();
    const head = Buffer.alloc(HEADER);
    for (let pos = 0; pos + HEADER <= size; ) {
      await fh.read(head, 0, HEADER, pos);
      if (!head.subarray(0, 8).equals(MAGIC)) throw new InternalError(`${path}: no PAR2 packet at offset ${pos}`, { subject: path });
      const length = Number(head.readBigUInt64LE(8));
      if (length < HEADER || length % 4 !== 0 || pos + length > size) throw new InternalError(`${path}: bad PAR2 packet length ${length} at offset ${pos}`, { subject: path });
      const type = head.subarray(48, 64).toString('latin1');
      if (type === TYPE_RECOVERY) recoveryBlocks++;
      else if (type === TYPE_MAIN || type === TYPE_FILEDESC || type === TYPE_IFSC) {
        if (length > MAX_CRITICAL_PACKET) throw new InternalError(`${path}: PAR2 packet of ${length} bytes at offset ${pos}`, { subject: path });
        const body = Buffer.alloc(length - HEADER);
        await fh.read(body, 0, body.length, pos + HEADER);
        if (type === TYPE_MAIN) blockSize = Number(body.readBigUInt64LE(0));
        else if (type === TYPE_FILEDESC) {
          const id = body.subarray(0, 16).toString('hex');
          const name = body.subarray(56).toString('latin1').replace(/\0+$/, '');
          names.set(id, { name, length: Number(body.readBigUInt64LE(48)) });
        } else {
          const id = body.subarray(0, 16).toString('hex');
          const list: Buffer[] = [];
          for (let at = 16; at + 20 <= body.length; at += 20) list.push(Buffer.from(body.subarray(at, at + 16)));
          checksums.set(id, list);
        }
      }
      pos += length;
    }
    const files = new Map<string, Par2File>();
    for (const [id, f] of names) files.set(f.name, { ...f, blockMd5: checksums.get(id) ?? [] });
    return { blockSize, files, recoveryBlocks };
  } finally {
    await fh.close();
  }
}

/**
 * par2cmdline's exit statuses (par2cmdline libpar2 `Result`): 0 success, 1 repair possible (verify
 * only), 2 repair not possible, 3 invalid arguments, 4 insufficient critical data, 5 repair failed,
 * 6 file I/O error, 7 logic error, 8 out of memory.
 */
export interface Par2Run {
  exitCode: number;
  output: string;
}

/** Run `par2` with arguments (never a shell string) in `cwd`; a missing binary is a usage error naming the package. */
export async function runPar2(args: string[], cwd: string): Promise<Par2Run> {
  try {
    // execa is loaded only when par2 runs (verify of a bundle without damage never does).
    const { execa } = await import('execa');
    const r = await execa('par2', args, { cwd, reject: false, stdin: 'ignore', all: true });
    if (r.failed && r.exitCode === undefined) throw Object.assign(new Error(r.shortMessage), { code: (r as { code?: string }).code });
    return { exitCode: r.exitCode ?? -1, output: String(r.all ?? '') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError('par2 is not installed: airgap repair rebuilds parts with par2cmdline', { subject: 'par2', hint: 'install it: apt-get install par2', cause: e });
    }
    throw e;
  }
}
