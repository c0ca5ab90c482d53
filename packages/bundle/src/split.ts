/**
 * `airgap split`: the same bundle stream cut into parts of another size (docs/transfer.md "Re-cutting
 * for another medium"), with new recovery data if asked, signed again. No network: the tar stream is
 * copied part by part, so the index (and its digest) is unchanged; only bundle.json's parts, recovery
 * and signer differ. The source is verified first: split never re-signs bytes it has not checked.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IntegrityError, UsageError } from '@airgap/core';
import { copyCarried } from './carried.js';
import { type BundleDescriptor, bundleStamp } from './format.js';
import type { SecretKey } from './minisign.js';
import { PartWriter } from './parts.js';
import { createRecovery } from './recovery.js';
import { type VerifyOptions, verifyBundle } from './verify.js';
import { sealBundle, syncDir } from './writer.js';

export interface SplitOptions extends Pick<VerifyOptions, 'trust' | 'insecureSkipSignature'> {
  outDir: string;
  chunkSize: number;
  key: SecretKey;
  /** Recovery percent for the new parts; none when undefined. */
  recovery?: number;
  toolVersion: string;
  onBytes?: (n: number) => void;
}

const READ = 1 << 20;

/** Write `outDir/<name>-<stamp>/` from the verified bundle `src`; returns the new directory and descriptor. */
export async function splitBundle(src: string, opts: SplitOptions): Promise<{ dir: string; descriptor: BundleDescriptor; source: string }> {
  const v = await verifyBundle(src, opts);
  const d = v.descriptor;
  const dirName = `${d.name}-${bundleStamp(new Date(d.created))}`;
  const finalDir = join(opts.outDir, dirName);
  await mkdir(opts.outDir, { recursive: true });
  if (await stat(finalDir).then(() => true, () => false)) {
    throw new UsageError(`${finalDir} already exists`, { subject: finalDir, hint: 'split into another --out (the bundle keeps its name)' });
  }
  const tmp = join(opts.outDir, `.${dirName}.partial-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp);
  const parts = new PartWriter(tmp, opts.chunkSize, opts.onBytes);
  let finished = false;
  try {
    const buf = Buffer.allocUnsafe(READ);
    for (const p of d.parts) {
      // Hashed again while copied: the source parts could change after verifyBundle read them.
      const fh = await open(join(src, p.file), 'r');
      const h = createHash('sha256');
      try {
        for (let pos = 0; pos < p.size; ) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(READ, p.size - pos), pos);
          if (bytesRead === 0) break;
          h.update(buf.subarray(0, bytesRead));
          await parts.write(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
      } finally {
        await fh.close();
      }
      if (h.digest('hex') !== p.sha256) throw new IntegrityError(`part ${p.file} of ${src} changed while it was split`, { subject: p.file, hint: 'verify the bundle again' });
    }
    const { parts: partList, synced } = await parts.close();
    finished = true;
    const recovery = opts.recovery ? await createRecovery(tmp, partList, opts.chunkSize, opts.recovery) : undefined;
    await synced;
    // The carried airgap release (docs/release.md) goes along unchanged: verifyBundle checked it.
    const carried = [];
    for (const c of d.toolRelease ?? []) {
      const copy = await copyCarried({ file: c.file, path: join(src, c.file) }, tmp);
      if (copy.sha256 !== c.sha256) throw new IntegrityError(`${c.file} of ${src} changed while it was split`, { subject: c.file, hint: 'verify the bundle again' });
      carried.push(copy);
    }
    const { recovery: _old, toolRelease: _tool, ...rest } = d;
    const descriptor: BundleDescriptor = {
      ...rest,
      tool: opts.toolVersion,
      signer: opts.key.keyId,
      parts: partList,
      ...(recovery ? { recovery } : {}),
      ...(carried.length ? { toolRelease: carried } : {}),
      split: { from: v.bundleJsonSha256, signer: v.signer },
    };
    await sealBundle(tmp, descriptor, opts.key);
    await rename(tmp, finalDir);
    await syncDir(opts.outDir);
    return { dir: finalDir, descriptor, source: v.dir };
  } catch (e) {
    if (!finished) await parts.abort();
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
