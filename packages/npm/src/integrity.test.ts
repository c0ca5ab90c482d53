import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectedHash } from './integrity.js';

describe('npm integrity', () => {
  const data = Buffer.from('tarball bytes');
  const sri = 'sha512-' + createHash('sha512').update(data).digest('base64');
  const sha1 = createHash('sha1').update(data).digest('hex');

  it('takes the strongest SRI hash, and shasum only without integrity', () => {
    expect(expectedHash({ integrity: `sha1-${createHash('sha1').update(data).digest('base64')} ${sri}`, shasum: sha1 })?.algorithm).toBe('sha512');
    expect(expectedHash({ shasum: sha1 })).toMatchObject({ algorithm: 'sha1', source: 'shasum' });
    expect(expectedHash({})).toBeUndefined();
  });

});

describe('sameIntegrity (ssri match)', () => {
  it('compares the strongest algorithm both name', async () => {
    const { sameIntegrity } = await import('./integrity.js');
    expect(sameIntegrity('sha1-AAAA sha512-BBBB', 'sha512-BBBB')).toBe(true);
    expect(sameIntegrity('sha1-AAAA sha512-BBBB', 'sha1-AAAA sha512-CCCC')).toBe(false);
    expect(sameIntegrity('sha512-BBBB', 'sha256-BBBB')).toBe(false);
    expect(sameIntegrity(undefined, 'sha512-BBBB')).toBe(false);
  });
});
