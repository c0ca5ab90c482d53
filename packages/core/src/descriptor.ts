import { createHash, type Hash } from 'node:crypto';

/** One blob of any kind (layer, .deb, wheel, tarball, file), as the OCI image spec describes content. */
export interface Descriptor {
  mediaType: string;
  /** `sha256:<64 hex>` */
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export const OCTET_STREAM = 'application/octet-stream';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && DIGEST_RE.test(s);
}

/** The hex part of a `sha256:` digest; throws on anything else so it can be used in paths safely. */
export function digestHex(digest: string): string {
  if (!isDigest(digest)) throw new TypeError(`not a sha256 digest: ${JSON.stringify(digest)}`);
  return digest.slice('sha256:'.length);
}

export function sha256Digest(data: string | Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function newSha256(): Hash {
  return createHash('sha256');
}
