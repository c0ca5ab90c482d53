/**
 * airgap's own release carried beside the parts (`pack --include-tool`, docs/release.md): plain files in
 * the bundle directory, outside the tar, listed in bundle.json `toolRelease` and in SHA256SUMS.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { IntegrityError, InternalError, UsageError } from '@airgap/core';
import { type BundleDescriptor, CARRIED_FILE_RE, type CarriedFile } from './format.js';

const READ_SIZE = 1 << 20;

export /** Copy one carried file into the bundle directory, hashing it on the way (fsynced like the rest). */
async function copyCarried(c: { file: string; path: string }, dir: string): Promise<CarriedFile> {
  if (!CARRIED_FILE_RE.test(c.file)) throw new InternalError(`cannot carry ${JSON.stringify(c.file)} beside the parts: not an airgap release file name`, { subject: c.file });
  const hash = createHash('sha256');
  let size = 0;
  const src = await open(c.path, 'r').catch((e: Error) => {
    throw new UsageError(`cannot read ${c.path} to carry it in the bundle: ${e.message}`, { subject: c.path, hint: 'build the release first: npm run dist (docs/release.md)', cause: e });
  });
  const dst = await open(join(dir, c.file), 'wx', (await src.stat()).mode & 0o777);
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await src.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      await dst.write(chunk);
      size += bytesRead;
    }
    await dst.sync();
  } finally {
    await src.close();
    await dst.close();
  }
  return { file: c.file, size, sha256: hash.digest('hex') };
}

export /** The carried release (docs/release.md) is checked like a part: size, then sha256 against the signed bundle.json. */
async function checkCarried(dir: string, d: BundleDescriptor): Promise<void> {
  for (const c of d.toolRelease ?? []) {
    const path = join(dir, c.file);
    const hint = 'copy the carried airgap release again from the source; SHA256SUMS lists its checksum';
    const fh = await open(path, 'r').catch((e: Error) => {
      throw new IntegrityError(`bundle ${dir}: the carried release file ${c.file} is missing or unreadable: ${e.message}`, { subject: c.file, hint, cause: e });
    });
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size !== c.size) throw new IntegrityError(`bundle ${dir}: ${c.file} is ${st.size} bytes, bundle.json says ${c.size}`, { subject: c.file, hint });
      const hash = createHash('sha256');
      const buf = Buffer.allocUnsafe(READ_SIZE);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        hash.update(buf.subarray(0, bytesRead));
      }
      const got = hash.digest('hex');
      if (got !== c.sha256) throw new IntegrityError(`bundle ${dir}: ${c.file} has sha256 ${got}, the signed bundle.json says ${c.sha256}`, { subject: c.file, hint });
    } finally {
      await fh.close();
    }
  }
}
