import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import { UpstreamError } from '@airgap/core';

export type Compression = 'none' | 'gz' | 'xz' | 'zst' | 'bz2';

/** createrepo_c names its files by compression: `.gz`, `.xz`, `.zst` (the default since 1.0), `.bz2`. */
export function compressionOf(href: string): Compression {
  if (href.endsWith('.gz')) return 'gz';
  if (href.endsWith('.xz')) return 'xz';
  if (href.endsWith('.zst') || href.endsWith('.zstd')) return 'zst';
  if (href.endsWith('.bz2')) return 'bz2';
  return 'none';
}

// Node 20's zlib has neither xz nor zstd; the reference tools stream them (Debian: xz-utils, zstd, bzip2).
const TOOL: Record<'xz' | 'zst' | 'bz2', string> = { xz: 'xz', zst: 'zstd', bz2: 'bzip2' };

/**
 * The decompressed bytes of `input`, streamed. `what` names the file in errors. Corrupt data or a missing
 * tool is an UpstreamError naming the file; the caller checks the open-checksum of what comes out.
 */
export async function* decompress(input: Readable, compression: Compression, what: string): AsyncGenerator<Buffer> {
  try {
    yield* decompressing(input, compression, what);
  } finally {
    // A consumer that stops early (a parse error) must not leave the cached file open.
    input.destroy();
  }
}

async function* decompressing(input: Readable, compression: Compression, what: string): AsyncGenerator<Buffer> {
  if (compression === 'none') {
    for await (const c of input) yield c as Buffer;
    return;
  }
  if (compression === 'gz') {
    const gunzip = createGunzip();
    input.on('error', (e) => gunzip.destroy(e));
    try {
      for await (const c of input.pipe(gunzip)) yield c as Buffer;
    } catch (e) {
      throw new UpstreamError(`${what}: cannot decompress (gzip): ${(e as Error).message}`, { subject: what, cause: e });
    }
    return;
  }
  const tool = TOOL[compression];
  const child = execa(tool, ['-dc'], { stdin: 'pipe', buffer: { stdout: false, stderr: true }, reject: false });
  const feeding = pipeline(input, child.stdin!).catch((e) => e as Error);
  let finished = false;
  try {
    for await (const c of child.stdout!) yield c as Buffer;
    finished = true;
  } finally {
    if (!finished) child.kill();
    const fed = await feeding;
    const r = await child;
    if (finished) {
      if (r.failed && (r as { code?: string }).code === 'ENOENT') {
        throw new UpstreamError(`${what}: needs the ${tool} command to decompress`, { subject: what, hint: `install ${tool} (Debian: ${compression === 'xz' ? 'xz-utils' : compression === 'zst' ? 'zstd' : 'bzip2'})` });
      }
      if (r.exitCode !== 0) {
        throw new UpstreamError(`${what}: ${tool} -dc failed (exit ${r.exitCode}): ${String(r.stderr ?? '').trim().split('\n').pop() ?? ''}`, { subject: what });
      }
      if (fed instanceof Error && (fed as NodeJS.ErrnoException).code !== 'EPIPE') throw new UpstreamError(`${what}: ${fed.message}`, { subject: what, cause: fed });
    }
  }
}

export function readableOf(gen: AsyncIterable<Buffer>): Readable {
  return Readable.from(gen, { objectMode: false });
}
