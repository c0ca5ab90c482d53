/**
 * Keys and signatures in minisign's formats (docs/security.md), so that `minisign -Vm bundle.json -p NAME.pub`
 * checks a bundle with a tool that is not ours. Byte layouts follow jedisct1/minisign src/minisign.h:
 *
 *   public key   "Ed" | key_id(8) | pk(32)                                  (base64, one line)
 *   secret key   "Ed" | kdf "\0\0" | "B2" | salt(32) | opslimit(8) | memlimit(8) | key_id(8) | sk(64) | chk(32)
 *   signature    "ED" | key_id(8) | Ed25519(BLAKE2b-512(message))(64)     ("ED" = prehashed)
 *                then "trusted comment: …" and Ed25519(signature | trusted comment bytes)
 *
 * The key id is printed as the 8 key_id bytes read as a little-endian integer, in uppercase hex
 * (minisign prints it with `%016" PRIX64` after le64_load).
 * NAME.key is minisign's *unencrypted* secret key (what `minisign -G -W` writes: kdf bytes zero, no
 * scrypt, checksum zero) so `minisign -S -s NAME.key` can sign with it too; its protection is mode 0600.
 * `keygen --encrypt` writes minisign's scrypt-encrypted form instead (kdf "Sc", minisign-encrypted.ts).
 */
import { type KeyObject, createHash, createPrivateKey, createPublicKey, randomBytes, sign as ed25519Sign, verify as ed25519Verify } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TrustError, UsageError, readRegularFile } from '@airgap/core';
import { KDF_SCRYPT, decryptSecretKeyBody, encryptSecretKeyBody } from './minisign-encrypted.js';

export interface PublicKey {
  /** 16 uppercase hex chars, as minisign prints it. */
  keyId: string;
  /** 32-byte Ed25519 public key. */
  key: Uint8Array;
  /** The file it was read from, for messages. */
  file?: string;
}

export interface SecretKey {
  keyId: string;
  /** 64-byte libsodium secret key (seed | public key). */
  key: Uint8Array;
  publicKey: PublicKey;
}

const UNTRUSTED = 'untrusted comment: ';
const TRUSTED = 'trusted comment: ';
const ALG_ED = Buffer.from('Ed', 'latin1');
const ALG_PREHASHED = Buffer.from('ED', 'latin1');
const CHK_B2 = Buffer.from('B2', 'latin1');
const SECRET_LEN = 2 + 2 + 2 + 32 + 8 + 8 + 8 + 64 + 32;
const PUBLIC_LEN = 2 + 8 + 32;
const SIG_LEN = 2 + 8 + 64;

/** key_id bytes → the id minisign prints (little-endian u64 in uppercase hex). */
function keyIdText(keyNum: Uint8Array): string {
  return Buffer.from(keyNum).reverse().toString('hex').toUpperCase();
}

function keyIdBytes(keyId: string): Buffer {
  return Buffer.from(keyId, 'hex').reverse();
}

// Ed25519 by node:crypto (OpenSSL), which takes keys as DER: the raw 32-byte seed or public key behind
// the fixed PKCS#8 / SPKI prefix of RFC 8410. One native call verifies a signature in well under a
// millisecond; the pure-JavaScript tweetnacl used before took a tenth of a second or more of a tiny
// `airgap verify` (test/bench/startup.mjs), and OpenSSL refuses non-canonical signatures as libsodium does.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

function privateKeyOf(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyOf(pk: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, pk]), format: 'der', type: 'spki' });
}

/** The 32-byte public key of a seed. */
function publicOfSeed(seed: Uint8Array): Uint8Array {
  return new Uint8Array(createPublicKey(privateKeyOf(seed)).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length));
}

function ed25519Valid(message: Uint8Array, signature: Uint8Array, pk: Uint8Array): boolean {
  try {
    return ed25519Verify(null, message, publicKeyOf(pk), signature);
  } catch {
    return false; // a public key OpenSSL cannot decode verifies nothing
  }
}

export function generateKeyPair(): SecretKey {
  const seed = new Uint8Array(randomBytes(32));
  const pub = publicOfSeed(seed);
  const key = new Uint8Array(64);
  key.set(seed, 0);
  key.set(pub, 32);
  const keyId = keyIdText(randomBytes(8));
  return { keyId, key, publicKey: { keyId, key: pub } };
}

export function publicKeyText(pk: PublicKey): string {
  const body = Buffer.concat([ALG_ED, keyIdBytes(pk.keyId), Buffer.from(pk.key)]);
  return `${UNTRUSTED}minisign public key ${pk.keyId}\n${body.toString('base64')}\n`;
}

export function secretKeyText(sk: SecretKey): string {
  const body = Buffer.alloc(SECRET_LEN);
  ALG_ED.copy(body, 0);
  // kdf_alg stays zero: unencrypted (minisign -W); salt, limits and checksum stay zero as minisign writes them.
  CHK_B2.copy(body, 4);
  keyIdBytes(sk.keyId).copy(body, 54);
  Buffer.from(sk.key).copy(body, 62);
  return `${UNTRUSTED}minisign unencrypted secret key ${sk.keyId}\n${body.toString('base64')}\n`;
}

/** minisign's password-encrypted secret key file (what `minisign -G` writes without -W). */
export async function encryptedSecretKeyText(sk: SecretKey, passphrase: string, limits?: { opslimit: number; memlimit: number }): Promise<string> {
  const body = await encryptSecretKeyBody(keyIdBytes(sk.keyId), sk.key, passphrase, limits);
  return `${UNTRUSTED}minisign encrypted secret key ${sk.keyId}\n${body.toString('base64')}\n`;
}

/**
 * Write NAME.key (mode 0600) and NAME.pub into `dir`. Refuses to overwrite either file without `force`.
 * With `passphrase`, NAME.key is encrypted with it (minisign's scrypt format).
 */
export async function writeKeyPair(dir: string, name: string, sk: SecretKey, opts: { force?: boolean; passphrase?: string } = {}): Promise<{ keyFile: string; pubFile: string }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new UsageError(`key name ${JSON.stringify(name)} is not a plain file name`, { subject: name, hint: 'use letters, digits, ".", "_" and "-"' });
  }
  const keyFile = join(dir, `${name}.key`);
  const pubFile = join(dir, `${name}.pub`);
  const flags = opts.force ? 'w' : 'wx';
  const secretText = opts.passphrase === undefined ? secretKeyText(sk) : await encryptedSecretKeyText(sk, opts.passphrase);
  const written: string[] = [];
  try {
    for (const [file, text, mode] of [
      [keyFile, secretText, 0o600],
      [pubFile, publicKeyText(sk.publicKey), 0o644],
    ] as const) {
      let fh;
      try {
        fh = await open(file, flags, mode);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new UsageError(`${file} already exists`, { subject: file, hint: 'use --force to overwrite it, or choose another --name or --out-dir' });
        }
        throw new UsageError(`cannot write ${file}: ${(e as Error).message}`, { subject: file, cause: e });
      }
      written.push(file);
      try {
        // open() applies the mode only when it creates the file; --force over an old key must still end at 0600.
        await fh.chmod(mode);
        await fh.truncate(0);
        await fh.write(text, 0, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  } catch (e) {
    if (!opts.force) for (const f of written) await rm(f, { force: true });
    throw e;
  }
  return { keyFile, pubFile };
}

async function readKeyFile(path: string, what: string): Promise<{ comment: string; body: Buffer }> {
  // A regular file (never a FIFO that blocks) of at most 64 KiB (docs/security.md).
  const text = (await readRegularFile(path, { max: 64 * 1024, what: `the ${what}` })).toString('utf8');
  const lines = text.split(/\r?\n/);
  if (!lines[0]?.startsWith(UNTRUSTED) || !lines[1]) {
    throw new UsageError(`${path} is not a minisign ${what} (expected an "untrusted comment:" line and a base64 line)`, { subject: path });
  }
  const b64 = lines[1].trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new UsageError(`${path}: the key line is not base64`, { subject: path });
  return { comment: lines[0], body: Buffer.from(b64, 'base64') };
}

export function parsePublicKey(text: string, file?: string): PublicKey {
  const name = file ?? 'public key';
  const lines = text.split(/\r?\n/);
  // Accept both the file form (comment line + key) and the bare base64 string minisign prints for -P.
  const b64 = (lines[0]?.startsWith(UNTRUSTED) ? lines[1] : lines[0])?.trim() ?? '';
  const body = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
  if (body.length !== PUBLIC_LEN || !body.subarray(0, 2).equals(ALG_ED)) {
    throw new UsageError(`${name} is not a minisign Ed25519 public key`, { subject: name, hint: 'use the NAME.pub file written by `airgap keygen` or `minisign -G`' });
  }
  return { keyId: keyIdText(body.subarray(2, 10)), key: new Uint8Array(body.subarray(10)), ...(file ? { file } : {}) };
}

export async function readPublicKey(path: string): Promise<PublicKey> {
  const text = (await readRegularFile(path, { max: 64 * 1024, what: 'the public key' })).toString('utf8');
  return parsePublicKey(text, path);
}

/**
 * Read NAME.key. An encrypted key (minisign's "Sc" kdf) is decrypted with what `passphrase` returns
 * (a TTY prompt or AIRGAP_KEY_PASSWORD_FILE, docs/security.md); without one it is refused (exit 2).
 */
export async function readSecretKey(path: string, opts: { passphrase?: () => Promise<string> } = {}): Promise<SecretKey> {
  const { body } = await readKeyFile(path, 'secret key');
  if (body.length !== SECRET_LEN || !body.subarray(0, 2).equals(ALG_ED) || !body.subarray(4, 6).equals(CHK_B2)) {
    throw new UsageError(`${path} is not a minisign Ed25519 secret key`, { subject: path, hint: 'use the NAME.key file written by `airgap keygen`' });
  }
  let keyNum = body.subarray(54, 62);
  let key = new Uint8Array(body.subarray(62, 126));
  if (body.subarray(2, 4).equals(KDF_SCRYPT)) {
    if (!opts.passphrase) {
      throw new UsageError(`${path} is a passphrase-encrypted key and no passphrase can be asked for here`, {
        subject: path,
        hint: 'run on a terminal (airgap asks for it), or set AIRGAP_KEY_PASSWORD_FILE to a file holding it (cron; docs/security.md)',
      });
    }
    const plain = await decryptSecretKeyBody(body, await opts.passphrase(), path);
    keyNum = plain.keyNum;
    key = new Uint8Array(plain.sk);
  } else if (body[2] !== 0 || body[3] !== 0) {
    throw new UsageError(`${path}: unknown key derivation ${JSON.stringify(body.subarray(2, 4).toString('latin1'))} (minisign knows "Sc" and none)`, { subject: path });
  }
  // The public half of a libsodium secret key is its last 32 bytes; check it belongs to the seed.
  const derived = publicOfSeed(key.subarray(0, 32));
  if (!Buffer.from(derived).equals(Buffer.from(key.subarray(32)))) {
    throw new UsageError(`${path}: the secret key is corrupt (its public half does not match its seed)`, { subject: path });
  }
  const keyId = keyIdText(keyNum);
  return { keyId, key, publicKey: { keyId, key: derived } };
}

function prehash(message: Uint8Array): Buffer {
  return createHash('blake2b512').update(message).digest();
}

/** The full text of a `.minisig` over `message` (prehashed "ED" signature, as `minisign -S` writes by default). */
export function signMinisign(message: Uint8Array, sk: SecretKey, trustedComment: string): string {
  if (/[\r\n]/.test(trustedComment)) throw new TypeError('a minisign trusted comment is one line');
  // minisign -V trims trailing whitespace from the comment line before checking it: sign what it will check.
  trustedComment = trustedComment.replace(/\s+$/, '');
  const priv = privateKeyOf(sk.key.subarray(0, 32));
  const signature = ed25519Sign(null, prehash(message), priv);
  const sigLine = Buffer.concat([ALG_PREHASHED, keyIdBytes(sk.keyId), Buffer.from(signature)]).toString('base64');
  const global = ed25519Sign(null, Buffer.concat([signature, Buffer.from(trustedComment, 'utf8')]), priv);
  return `${UNTRUSTED}signature from airgap secret key ${sk.keyId}\n${sigLine}\n${TRUSTED}${trustedComment}\n${Buffer.from(global).toString('base64')}\n`;
}

/**
 * Check a minisign signature over `message` by one of the `trusted` keys. Returns the signer's key id and
 * the (signed) trusted comment. TrustError (exit 3) for a malformed signature, an untrusted key id, or a
 * signature or trusted comment that does not verify.
 */
export function verifyMinisign(message: Uint8Array, sigText: string, trusted: PublicKey[]): { keyId: string; trustedComment: string } {
  const lines = sigText.split('\n').map((l) => l.replace(/\r$/, ''));
  const malformed = (why: string) => new TrustError(`malformed minisign signature: ${why}`, { hint: 'the .minisig file is damaged or not a minisign signature; get the bundle again' });
  if (!lines[0]?.startsWith(UNTRUSTED)) throw malformed('no "untrusted comment:" line');
  if (!lines[2]?.startsWith(TRUSTED)) throw malformed('no "trusted comment:" line');
  const sig = decode64(lines[1]);
  const global = decode64(lines[3]);
  if (!sig || sig.length !== SIG_LEN) throw malformed('the signature line is not 74 bytes of base64');
  if (!global || global.length !== 64) throw malformed('the trusted comment signature is not 64 bytes of base64');
  const alg = sig.subarray(0, 2);
  const prehashed = alg.equals(ALG_PREHASHED);
  if (!prehashed && !alg.equals(ALG_ED)) throw malformed(`unknown algorithm ${JSON.stringify(alg.toString('latin1'))}`);
  const keyId = keyIdText(sig.subarray(2, 10));
  const pk = trusted.find((k) => k.keyId === keyId);
  if (!pk) {
    const ids = trusted.map((k) => k.keyId + (k.file ? ` (${k.file})` : ''));
    throw new TrustError(`signed by key ${keyId}, which is not trusted (trusted: ${ids.length ? ids.join(', ') : 'none'})`, {
      subject: keyId,
      hint: "pass the signer's public key with --pub or add it to `trust` in the config, if and only if you trust it",
    });
  }
  const signature = sig.subarray(10);
  // minisign trims trailing whitespace from the comment line before checking it; do the same.
  const trustedComment = lines[2].slice(TRUSTED.length).replace(/[\s]+$/, '');
  if (!ed25519Valid(prehashed ? prehash(message) : message, signature, pk.key)) {
    throw new TrustError(`bad signature by key ${keyId}: the signed file was changed after signing`, { subject: keyId, hint: 'do not use this bundle; get it again from its source' });
  }
  if (!ed25519Valid(Buffer.concat([signature, Buffer.from(trustedComment, 'utf8')]), global, pk.key)) {
    throw new TrustError(`bad trusted comment signature by key ${keyId}: the trusted comment was changed`, { subject: keyId, hint: 'do not use this bundle; get it again from its source' });
  }
  return { keyId, trustedComment };
}

function decode64(s: string | undefined): Buffer | undefined {
  const t = s?.trim() ?? '';
  return /^[A-Za-z0-9+/]+={0,2}$/.test(t) ? Buffer.from(t, 'base64') : undefined;
}
