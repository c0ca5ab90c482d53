import { describe, expect, it } from 'vitest';
import { UsageError } from '@airgap/core';
import { SENSITIVE, decryptSecretKeyBody, encryptSecretKeyBody, scryptParams } from './minisign-encrypted.js';

describe("libsodium's opslimit/memlimit → scrypt N, r, p (pickparams)", () => {
  it('maps the SENSITIVE and INTERACTIVE limits and an ops-bound pair as libsodium does', () => {
    expect(scryptParams(SENSITIVE.opslimit, SENSITIVE.memlimit)).toEqual({ N: 2 ** 20, r: 8, p: 1 });
    expect(scryptParams(524288, 16777216)).toEqual({ N: 2 ** 14, r: 8, p: 1 });
    // opslimit < memlimit / 32: N from the ops budget alone; below 32768 ops counts as 32768.
    expect(scryptParams(32768, 2 ** 30)).toEqual({ N: 2 ** 10, r: 8, p: 1 });
    expect(scryptParams(1, 2 ** 30)).toEqual({ N: 2 ** 10, r: 8, p: 1 });
    // more ops than memory allows: p grows
    expect(scryptParams(2 ** 25, 2 ** 24)).toEqual({ N: 2 ** 14, r: 8, p: 64 });
  });

  it('round-trips a key body and refuses a wrong passphrase (exit 2) without naming it', async () => {
    const limits = { opslimit: 524288, memlimit: 16777216 };
    const keyNum = Buffer.from('0102030405060708', 'hex');
    const sk = Buffer.alloc(64, 7);
    const body = await encryptSecretKeyBody(keyNum, sk, 'pw', limits);
    expect(body.length).toBe(158);
    expect(body.subarray(54).equals(Buffer.concat([keyNum, sk]))).toBe(false);
    const back = await decryptSecretKeyBody(body, 'pw', 'k.key');
    expect(back.keyNum.equals(keyNum) && back.sk.equals(sk)).toBe(true);
    const e = await decryptSecretKeyBody(body, 'px', 'k.key').catch((x) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain('wrong passphrase');
    expect(e.message).not.toContain('px');
  });
});
