import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '@airgap/core';
import { expectedHash, verifiedBytes } from './integrity.js';

async function drain(it: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.length;
  return n;
}

describe('npm integrity', () => {
  const data = Buffer.from('tarball bytes');
  const sri = 'sha512-' + createHash('sha512').update(data).digest('base64');
  const sha1 = createHash('sha1').update(data).digest('hex');

  it('takes the strongest SRI hash, and shasum only without integrity', () => {
    expect(expectedHash({ integrity: `sha1-${createHash('sha1').update(data).digest('base64')} ${sri}`, shasum: sha1 })?.algorithm).toBe('sha512');
    expect(expectedHash({ shasum: sha1 })).toMatchObject({ algorithm: 'sha1', source: 'shasum' });
    expect(expectedHash({})).toBeUndefined();
  });

  it('passes matching bytes and fails mismatching ones at the end of the stream', async () => {
    expect(await drain(verifiedBytes([data], expectedHash({ integrity: sri })!, 'npm x@1'))).toBe(data.length);
    expect(await drain(verifiedBytes([data], expectedHash({ shasum: sha1 })!, 'npm x@1'))).toBe(data.length);
    await expect(drain(verifiedBytes([Buffer.from('other')], expectedHash({ integrity: sri })!, 'npm x@1.0.0'))).rejects.toThrow(IntegrityError);
    await expect(drain(verifiedBytes([Buffer.from('other')], expectedHash({ shasum: sha1 })!, 'npm x@1.0.0'))).rejects.toThrow(/npm x@1\.0\.0: .*dist\.shasum/);
  });
});
