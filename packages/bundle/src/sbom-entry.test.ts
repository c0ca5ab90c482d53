/**
 * The SBOM entry (docs/bundle-format.md): written second in the tar, listed in the signed bundle.json,
 * handed out by verifyBundle, and refused (exit 3, naming it) when its bytes differ from bundle.json —
 * even when the attacker re-signs bundle.json with a trusted key and fixes the part checksums.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundleIndex, ContentStore, type Descriptor } from '@airgap/core';
import { type BundleDescriptor, type SecretKey, generateKeyPair, signMinisign, trustedComment, verifyBundle, writeBundle } from './index.js';

const tmp = mkdtempSync(join(tmpdir(), 'airgap-sbom-entry-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let key: SecretKey;
let dir: string;
const sbom = Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', marker: 'sbom-bytes-under-test' }) + '\n');

beforeAll(async () => {
  key = generateKeyPair();
  const store = new ContentStore(join(tmp, 'store'));
  const blob: Descriptor = await store.put(Readable.from([randomBytes(5000)]));
  const index: BundleIndex = {
    schema: 'airgap.index/v1', name: 'sbomtest', created: '2026-11-24T10:15:00Z', blobs: [blob],
    artifacts: [{ kind: 'file', name: 'a.bin', version: '', digest: blob.digest, blobs: [blob], upstream: { url: 'file:///a.bin', verified: 'test' } }],
  };
  const written = await writeBundle({
    outDir: join(tmp, 'out'), name: 'sbomtest', created: new Date('2026-11-24T10:15:00Z'), index,
    blobs: [{ descriptor: blob, open: () => store.open(blob.digest) }], chunkSize: 1 << 20, key, toolVersion: 'airgap/test', sbom,
  });
  dir = written.dir;
});

describe('the SBOM entry', () => {
  it('is the second tar entry, listed in bundle.json, and returned by verifyBundle', async () => {
    const names = execFileSync('tar', ['-tf', join(dir, 'part-00001')], { encoding: 'utf8' }).trim().split('\n');
    expect(names.slice(0, 2)).toEqual(['airgap-index.json', 'sbom.cdx.json']);
    const d = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as BundleDescriptor;
    expect(d.sbom).toEqual({ entry: 'sbom.cdx.json', sha256: sha256(sbom), size: sbom.length, format: 'CycloneDX 1.6 JSON' });
    const v = await verifyBundle(dir, { trust: [key.publicKey] });
    expect(v.sbom).toEqual(sbom);
  });

  it('with other bytes than bundle.json lists is refused naming it, though the signature and part checksums are valid', async () => {
    const copy = join(tmp, 'tampered');
    execFileSync('cp', ['-r', dir, copy]);
    const part = join(copy, 'part-00001');
    const bytes = readFileSync(part);
    const at = bytes.indexOf('sbom-bytes-under-test');
    expect(at).toBeGreaterThan(0);
    bytes[at] ^= 0x20; // same length, other content
    writeFileSync(part, bytes);
    const d = JSON.parse(readFileSync(join(copy, 'bundle.json'), 'utf8')) as BundleDescriptor;
    d.parts[0].sha256 = sha256(bytes);
    const json = Buffer.from(JSON.stringify(d, null, 2) + '\n');
    writeFileSync(join(copy, 'bundle.json'), json);
    writeFileSync(join(copy, 'bundle.json.minisig'), signMinisign(json, key, trustedComment(d)));
    writeFileSync(join(copy, 'SHA256SUMS'), readdirSync(copy).filter((f) => f.startsWith('part-')).map((f) => `${sha256(readFileSync(join(copy, f)))}  ${f}\n`).join('') + `${sha256(json)}  bundle.json\n`);
    const err = await verifyBundle(copy, { trust: [key.publicKey] }).then(() => undefined, (e: Error & { exitCode?: number }) => e);
    expect(err?.exitCode).toBe(3);
    expect(err?.message).toContain('sbom.cdx.json');
    expect(err?.message).toContain('does not match bundle.json');
  });
});
