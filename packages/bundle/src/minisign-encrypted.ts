/**
 * minisign's password-encrypted secret key (docs/security.md, key handling), byte for byte what
 * `minisign -G` writes and `minisign -S` reads (jedisct1/minisign src/minisign.c, seckey_load/encrypt):
 *
 *   "Ed" | kdf "Sc" | chk "B2" | salt(32) | opslimit(8, LE) | memlimit(8, LE) | keynum_sk(104) XOR stream
 *   keynum_sk = key_id(8) | sk(64) | chk(32),  chk = BLAKE2b-256("Ed" | key_id | sk)
 *   stream    = crypto_pwhash_scryptsalsa208sha256(104 bytes, password, salt, opslimit, memlimit)
 *
 * libsodium turns opslimit/memlimit into scrypt's N, r, p (pickparams in
 * crypto_pwhash/scryptsalsa208sha256/pwhash_scryptsalsa208sha256.c); `scryptParams` is that mapping, and
 * node:crypto's scrypt (salsa20/8 core, PBKDF2-HMAC-SHA256) does the rest. The checksum is BLAKE2b with a
 * 32-byte output, which is not a truncation of BLAKE2b-512 (the length is hashed into the parameter block)
 * and which node's OpenSSL binding cannot produce: it comes from @noble/hashes.
 * A wrong password yields a checksum mismatch: exit 2, never echoing the password.
 */
import { randomBytes, scrypt } from 'node:crypto';
import { blake2b } from '@noble/hashes/blake2.js';
import { UsageError } from '@airgap/core';

export const KDF_SCRYPT = Buffer.from('Sc', 'latin1');
const ALG_ED = Buffer.from('Ed', 'latin1');
const CHK_B2 = Buffer.from('B2', 'latin1');
const KEYNUM_SK_LEN = 8 + 64 + 32;
/** libsodium's crypto_pwhash_scryptsalsa208sha256_{OPS,MEM}LIMIT_SENSITIVE: what `minisign -G` uses. */
export const SENSITIVE = { opslimit: 33_554_432, memlimit: 1_073_741_824 };
/** The most memory airgap lets a key file's limits ask for (4 GiB): a hostile file cannot exhaust the host. */
const MAX_MEM = 4 * 1024 ** 3;

/** libsodium's pickparams: opslimit/memlimit → scrypt N (as log2), r, p. */
export function scryptParams(opslimit: number, memlimit: number): { N: number; r: number; p: number } {
  const ops = Math.max(opslimit, 32768);
  const r = 8;
  let nLog2 = 1;
  let p: number;
  if (ops < memlimit / 32) {
    p = 1;
    const maxN = ops / (r * 4);
    while (nLog2 < 63 && 2 ** nLog2 <= maxN / 2) nLog2++;
  } else {
    const maxN = memlimit / (r * 128);
    while (nLog2 < 63 && 2 ** nLog2 <= maxN / 2) nLog2++;
    const maxrp = Math.min(Math.floor(ops / 4 / 2 ** nLog2), 0x3fffffff);
    p = Math.floor(maxrp / r);
  }
  return { N: 2 ** nLog2, r, p };
}

function keyStream(password: string, salt: Uint8Array, opslimit: number, memlimit: number, file: string): Promise<Buffer> {
  const { N, r, p } = scryptParams(opslimit, memlimit);
  // OpenSSL needs room for B (p·128·r) and V (128·r·(N+2)).
  const need = 128 * r * (N + 2 + p) + (1 << 20);
  if (need > MAX_MEM || p < 1) {
    return Promise.reject(new UsageError(`${file}: the key's scrypt limits ask for ${Math.round(need / 2 ** 20)} MiB, more than airgap allows`, { subject: file }));
  }
  return new Promise((resolve, reject) =>
    scrypt(Buffer.from(password, 'utf8'), salt, KEYNUM_SK_LEN, { N, r, p, maxmem: need }, (e, key) => (e ? reject(e) : resolve(key))),
  );
}

function checksum(keyNum: Uint8Array, sk: Uint8Array): Buffer {
  return Buffer.from(blake2b(Buffer.concat([ALG_ED, keyNum, sk]), { dkLen: 32 }));
}

/** The base64 body of an encrypted key: `keyNum` (8 bytes) and the 64-byte libsodium secret key. */
export async function encryptSecretKeyBody(keyNum: Uint8Array, sk: Uint8Array, password: string, limits = SENSITIVE): Promise<Buffer> {
  const salt = randomBytes(32);
  const head = Buffer.alloc(6 + 32 + 16);
  ALG_ED.copy(head, 0);
  KDF_SCRYPT.copy(head, 2);
  CHK_B2.copy(head, 4);
  salt.copy(head, 6);
  head.writeBigUInt64LE(BigInt(limits.opslimit), 38);
  head.writeBigUInt64LE(BigInt(limits.memlimit), 46);
  const plain = Buffer.concat([keyNum, sk, checksum(keyNum, sk)]);
  const stream = await keyStream(password, salt, limits.opslimit, limits.memlimit, 'the new key');
  for (let i = 0; i < plain.length; i++) plain[i] ^= stream[i];
  return Buffer.concat([head, plain]);
}

/**
 * Decrypt an encrypted key body (as read from the file: 158 bytes) into keyNum and sk, checking the
 * BLAKE2b-256 checksum. UsageError (exit 2) for a wrong password; the message never holds it.
 */
export async function decryptSecretKeyBody(body: Buffer, password: string, file: string): Promise<{ keyNum: Buffer; sk: Buffer }> {
  const salt = body.subarray(6, 38);
  const opslimit = Number(body.readBigUInt64LE(38));
  const memlimit = Number(body.readBigUInt64LE(46));
  const stream = await keyStream(password, salt, opslimit, memlimit, file);
  const plain = Buffer.from(body.subarray(54, 54 + KEYNUM_SK_LEN));
  for (let i = 0; i < plain.length; i++) plain[i] ^= stream[i];
  const keyNum = plain.subarray(0, 8);
  const sk = plain.subarray(8, 72);
  if (!checksum(keyNum, sk).equals(plain.subarray(72))) {
    throw new UsageError(`${file}: wrong passphrase for this encrypted key`, {
      subject: file,
      hint: 'type it again, or check the file AIRGAP_KEY_PASSWORD_FILE names (one line; a trailing newline is ignored)',
    });
  }
  return { keyNum, sk };
}
