import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { publishDocument } from './publish-document.js';

async function text(r: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

describe('publishDocument (libnpmpublish shape, streamed)', () => {
  for (const size of [0, 1, 2, 3, 4, 5, 1 << 20, (1 << 20) + 1]) {
    it(`base64 of a ${size}-byte tarball arrives intact in chunks of any size, with the announced length`, async () => {
      const bytes = randomBytes(size);
      const doc = publishDocument({
        name: '@s/pkg',
        manifest: { name: '@s/pkg', version: '1.0.0', description: 'd', dist: { tarball: 'http://up/x.tgz', integrity: 'sha512-x' } },
        tarballUrl: 'http://target/@s%2fpkg/-/@s/pkg-1.0.0.tgz',
        distTags: { latest: '1.0.0' },
        tarballSize: size,
        // Odd chunk sizes exercise the 3-byte carry between chunks.
        openTarball: () => Readable.from((function* () { for (let i = 0; i < size; i += 7777) yield bytes.subarray(i, i + 7777); })()),
      });
      const body = await text(doc.open());
      expect(Buffer.byteLength(body)).toBe(doc.length);
      const json = JSON.parse(body);
      const att = json._attachments['@s/pkg-1.0.0.tgz'];
      expect(Buffer.from(att.data, 'base64').equals(bytes)).toBe(true);
      expect(att.length).toBe(size);
      expect(json.versions['1.0.0'].dist.tarball).toBe('http://target/@s%2fpkg/-/@s/pkg-1.0.0.tgz');
      expect(json.versions['1.0.0']._id).toBe('@s/pkg@1.0.0');
      expect(json['dist-tags']).toEqual({ latest: '1.0.0' });
      expect(json._id).toBe('@s/pkg');
    });
  }
});
