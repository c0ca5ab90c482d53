import { describe, expect, it } from 'vitest';
import { basicAuthFromEnv, bearerFromEnv, readEnv } from './credentials.js';
import { UsageError } from './errors.js';
import { redact } from './log.js';

describe('credentials from the environment (one behaviour for every caller)', () => {
  it('a variable that is not set, or set to nothing, is a UsageError naming each one after where', () => {
    const e = (() => {
      try {
        basicAuthFromEnv({ usernameEnv: 'CR_USER', passwordEnv: 'CR_PASS' }, { CR_PASS: '' }, 'target nexus', { subject: 'targets.nexus' });
      } catch (x) {
        return x as UsageError;
      }
      throw new Error('no error');
    })();
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toBe('target nexus: environment variable CR_USER and CR_PASS is not set');
    expect(e.subject).toBe('targets.nexus');
    expect(e.hint).toMatch(/^export CR_USER and CR_PASS/);
    expect(() => bearerFromEnv('CR_TOKEN', {}, 'npm registry x')).toThrow('npm registry x: environment variable CR_TOKEN is not set');
  });

  it('Basic auth from user and password; none named sends nothing', () => {
    expect(basicAuthFromEnv({}, {}, 'x')).toEqual({ headers: {}, secrets: [] });
    const c = basicAuthFromEnv({ usernameEnv: 'CR_USER', passwordEnv: 'CR_PASS' }, { CR_USER: 'airgap', CR_PASS: 'pw-credentials-1' }, 'x');
    const token = Buffer.from('airgap:pw-credentials-1').toString('base64');
    expect(c.headers).toEqual({ authorization: `Basic ${token}` });
    expect(c.secrets).toEqual(['pw-credentials-1', token]);
    expect(bearerFromEnv('CR_TOKEN', { CR_TOKEN: 'tok-credentials-2' }, 'x').headers).toEqual({ authorization: 'Bearer tok-credentials-2' });
  });

  it('every secret read is registered with the scrubber; a user name or key id is not a secret', () => {
    basicAuthFromEnv({ usernameEnv: 'CR_USER', passwordEnv: 'CR_PASS' }, { CR_USER: 'visible-user', CR_PASS: 'pw-credentials-3' }, 'x');
    const token = Buffer.from('visible-user:pw-credentials-3').toString('base64');
    expect(redact(`failed with pw-credentials-3 and ${token} for visible-user`)).toBe('failed with *** and *** for visible-user');
    readEnv<'key' | 'secret'>({ key: 'CR_KEY', secret: 'CR_SECRET' }, { CR_KEY: 'key-id-visible', CR_SECRET: 'secret-credentials-4' }, 's3.x', { secret: ['secret'] });
    expect(redact('key-id-visible secret-credentials-4')).toBe('key-id-visible ***');
    bearerFromEnv('CR_TOKEN', { CR_TOKEN: 'tok-credentials-5' }, 'x');
    expect(redact('Bearer tok-credentials-5')).toBe('Bearer ***');
  });
});
