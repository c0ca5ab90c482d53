import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrustError, UsageError } from '@airgap/core';
import { generateKeyPair, readPublicKey, readSecretKey, signMinisign, verifyMinisign, writeKeyPair } from './minisign.js';

const tmp = mkdtempSync(join(tmpdir(), 'airgap-minisign-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(tmp, String(n++));
  execFileSync('mkdir', ['-p', d]);
  return d;
};

/** Run real minisign; returns its exit status and output. */
function minisign(args: string[], cwd: string): { status: number; out: string } {
  try {
    const out = execFileSync('minisign', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, out };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { status: err.status, out: err.stdout + err.stderr };
  }
}

describe('keygen', () => {
  it('writes NAME.key with mode 0600 and NAME.pub in minisign format, and reads them back', async () => {
    const dir = fresh();
    const sk = generateKeyPair();
    const { keyFile, pubFile } = await writeKeyPair(dir, 'airgap', sk, {});
    expect(keyFile).toBe(join(dir, 'airgap.key'));
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const pubText = readFileSync(pubFile, 'utf8');
    expect(pubText.split('\n')[0]).toBe(`untrusted comment: minisign public key ${sk.keyId}`);
    expect(sk.keyId).toMatch(/^[0-9A-F]{16}$/);

    const pk = await readPublicKey(pubFile);
    expect(pk.keyId).toBe(sk.keyId);
    expect(Buffer.from(pk.key)).toEqual(Buffer.from(sk.publicKey.key));
    const sk2 = await readSecretKey(keyFile);
    expect(sk2.keyId).toBe(sk.keyId);
    expect(Buffer.from(sk2.key)).toEqual(Buffer.from(sk.key));
  });

  it('refuses to overwrite without force (exit 2 naming the file), overwrites with force keeping 0600', async () => {
    const dir = fresh();
    const first = generateKeyPair();
    const { keyFile } = await writeKeyPair(dir, 'k', first, {});
    const err = await writeKeyPair(dir, 'k', generateKeyPair(), {}).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(keyFile);
    expect((await readSecretKey(keyFile)).keyId).toBe(first.keyId);

    execFileSync('chmod', ['0644', keyFile]);
    const second = generateKeyPair();
    await writeKeyPair(dir, 'k', second, { force: true });
    expect((await readSecretKey(keyFile)).keyId).toBe(second.keyId);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  it('names the file when a key is missing or malformed', async () => {
    const dir = fresh();
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, 'untrusted comment: x\nnot base64 at all!\n');
    for (const p of [bad, join(dir, 'missing.key')]) {
      const e = await readSecretKey(p).catch((x) => x);
      expect(e).toBeInstanceOf(UsageError);
      expect(e.message).toContain(p);
    }
    const pubBad = join(dir, 'bad.pub');
    writeFileSync(pubBad, 'untrusted comment: x\nRWQAAA==\n');
    const e = await readPublicKey(pubBad).catch((x) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain(pubBad);
  });
});

describe('signatures against the real minisign', () => {
  it('our signature passes `minisign -V`, and real minisign signs with our key file', async () => {
    const dir = fresh();
    const sk = generateKeyPair();
    await writeKeyPair(dir, 'ours', sk, {});
    const msg = Buffer.from('hello bundle\n');
    writeFileSync(join(dir, 'm'), msg);
    writeFileSync(join(dir, 'm.minisig'), signMinisign(msg, sk, 'bundle:x created:now'));
    const v = minisign(['-Vm', 'm', '-p', 'ours.pub'], dir);
    expect(v.status, v.out).toBe(0);
    expect(v.out).toContain('Trusted comment: bundle:x created:now');

    // minisign -S with NAME.key (unencrypted minisign format), checked by us.
    writeFileSync(join(dir, 'n'), 'other\n');
    const s = minisign(['-S', '-s', 'ours.key', '-m', 'n', '-t', 'signed by minisign'], dir);
    expect(s.status, s.out).toBe(0);
    const r = verifyMinisign(readFileSync(join(dir, 'n')), readFileSync(join(dir, 'n.minisig'), 'utf8'), [sk.publicKey]);
    expect(r).toEqual({ keyId: sk.keyId, trustedComment: 'signed by minisign' });
  });

  it('reads keys made by `minisign -G -W` and verifies its prehashed and legacy signatures', async () => {
    const dir = fresh();
    const g = minisign(['-G', '-W', '-p', 'mk.pub', '-s', 'mk.key'], dir);
    expect(g.status, g.out).toBe(0);
    const pk = await readPublicKey(join(dir, 'mk.pub'));
    // The id minisign prints in its own public key comment (it drops leading zeros; we keep 16 digits).
    const printed = /minisign public key ([0-9A-F]+)/.exec(readFileSync(join(dir, 'mk.pub'), 'utf8'))![1];
    expect(BigInt('0x' + pk.keyId)).toBe(BigInt('0x' + printed));
    expect(pk.keyId).toMatch(/^[0-9A-F]{16}$/);
    writeFileSync(join(dir, 'f'), 'payload\n');
    for (const legacy of [false, true]) {
      const s = minisign(['-S', ...(legacy ? ['-l'] : []), '-s', 'mk.key', '-m', 'f', '-t', `legacy=${legacy}`], dir);
      expect(s.status, s.out).toBe(0);
      const sig = readFileSync(join(dir, 'f.minisig'), 'utf8');
      expect(verifyMinisign(readFileSync(join(dir, 'f')), sig, [generateKeyPair().publicKey, pk])).toEqual({ keyId: pk.keyId, trustedComment: `legacy=${legacy}` });
      // A changed message fails.
      expect(() => verifyMinisign(Buffer.from('payload!\n'), sig, [pk])).toThrow(TrustError);
    }
    // Our signature with minisign's secret key passes minisign -V.
    const sk = await readSecretKey(join(dir, 'mk.key'));
    expect(sk.keyId).toBe(pk.keyId);
    writeFileSync(join(dir, 'f.minisig'), signMinisign(readFileSync(join(dir, 'f')), sk, 'ours'));
    const v = minisign(['-Vm', 'f', '-p', 'mk.pub'], dir);
    expect(v.status, v.out).toBe(0);
  });

  it('refuses untrusted keys, changed messages, changed trusted comments and garbage (exit 3)', () => {
    const sk = generateKeyPair();
    const other = generateKeyPair();
    const msg = Buffer.from('m');
    const sig = signMinisign(msg, sk, 'tc');
    const untrusted = (() => {
      try {
        verifyMinisign(msg, sig, [other.publicKey]);
      } catch (e) {
        return e as TrustError;
      }
    })();
    expect(untrusted).toBeInstanceOf(TrustError);
    expect(untrusted!.exitCode).toBe(3);
    expect(untrusted!.message).toContain(sk.keyId);
    expect(untrusted!.message).toContain(other.keyId);

    expect(() => verifyMinisign(Buffer.from('M'), sig, [sk.publicKey])).toThrow(/bad signature/);
    const lines = sig.split('\n');
    lines[2] = 'trusted comment: tc2';
    expect(() => verifyMinisign(msg, lines.join('\n'), [sk.publicKey])).toThrow(/trusted comment/);
    expect(() => verifyMinisign(msg, 'garbage', [sk.publicKey])).toThrow(TrustError);
    expect(() => verifyMinisign(msg, sig, [])).toThrow(/not trusted/);
  });
});
