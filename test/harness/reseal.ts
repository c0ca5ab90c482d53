import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { type BundleDescriptor, readSecretKey, signMinisign, trustedComment } from '@airgap/bundle';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Build a bundle from a tar that GNU tar makes out of `srcDir` with `tarArgs` (so it may hold entries
 * airgap's writer never makes: `../x`, absolute paths, links), cut it into parts with GNU split, and
 * sign a correct bundle.json for it with `keyFile`. This is the attacker who holds a trusted key or
 * found a bug upstream: the signature is valid, the content is hostile.
 */
export async function resealBundle(srcDir: string, outDir: string, keyFile: string, tarArgs: string[], name: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const tarFile = `${outDir}.tar`;
  await execa('tar', ['--format=posix', '-cf', tarFile, ...tarArgs], { cwd: srcDir });
  await execa('split', ['-b', '1048576', '-d', '-a', '5', '--numeric-suffixes=1', tarFile, 'part-'], { cwd: outDir });
  const parts = await Promise.all((await readdir(outDir)).filter((f) => f.startsWith('part-')).sort().map(async (file) => {
    const b = await readFile(join(outDir, file));
    return { file, size: b.length, sha256: sha256(b) };
  }));
  const indexBytes = await readFile(join(srcDir, 'airgap-index.json'));
  const index = JSON.parse(indexBytes.toString('utf8'));
  const key = await readSecretKey(keyFile);
  const d: BundleDescriptor = {
    schema: 'airgap.bundle/v1', name, created: new Date().toISOString(), tool: 'resealed-by-test', signer: key.keyId,
    index: { sha256: sha256(indexBytes), size: indexBytes.length }, parts,
    totals: { artifacts: index.artifacts.length, blobs: index.blobs.length, bytes: parts.reduce((n, p) => n + p.size, 0) }, base: null,
  };
  const json = Buffer.from(JSON.stringify(d, null, 2));
  await writeFile(join(outDir, 'bundle.json'), json);
  await writeFile(join(outDir, 'bundle.json.minisig'), signMinisign(json, key, trustedComment(d)));
  const sums = await execa('sha256sum', [...parts.map((p) => p.file), 'bundle.json'], { cwd: outDir });
  await writeFile(join(outDir, 'SHA256SUMS'), String(sums.stdout) + '\n');
  return outDir;
}
