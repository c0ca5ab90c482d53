import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { type Artifact, type SourceContext, TrustError, UsageError, digestHex } from '@airgap/core';
import { parseManifest } from './media.js';

/** cosign's simple-signing layer and the annotation holding its base64 signature (docs/oci.md "cosign"). */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** A cosign public key: PEM SubjectPublicKeyInfo, ECDSA P-256 (what `cosign generate-key-pair` writes). */
export interface CosignKey {
  file: string;
  key: KeyObject;
  /** sha256 of the DER key, short: how messages and the report name the key. */
  id: string;
}

export async function readCosignKey(file: string, manifestDir: string): Promise<CosignKey> {
  const path = isAbsolute(file) ? file : resolve(manifestDir, file);
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cosignKey ${path}: cannot read it: ${(e as Error).message}`, { subject: path, hint: 'give the path of the cosign public key (cosign.pub), relative to the manifest', cause: e });
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new UsageError(`cosignKey ${path}: not a PEM public key: ${(e as Error).message}`, { subject: path, hint: 'use the cosign.pub that cosign generate-key-pair wrote', cause: e });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new UsageError(`cosignKey ${path}: a ${key.asymmetricKeyType} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''}, not ECDSA P-256`, { subject: path, hint: 'cosign keys are ECDSA P-256 (prime256v1)' });
  }
  const der = key.export({ type: 'spki', format: 'der' });
  return { file: path, key, id: 'sha256:' + createHash('sha256').update(der).digest('hex').slice(0, 16) };
}

interface SimpleSigning {
  critical?: { identity?: { 'docker-reference'?: string }; image?: { 'docker-manifest-digest'?: string }; type?: string };
}

/**
 * Check that `image` (digest `subject` upstream) carries a cosign signature by `key` among the attached
 * artifacts resolve found: the `sha256-<hex>.sig` tag's manifest has simple-signing layers, each a JSON
 * payload naming the signed digest, with the ECDSA signature over the payload bytes in an annotation.
 * The payload blobs are small; they are fetched now (`fetchPayload`). No transparency log is consulted:
 * the key is the trust anchor (docs/oci.md "cosign"). Any failure is a TrustError (exit 3) naming the image.
 */
export async function verifyCosign(
  image: string,
  subject: string,
  attached: Artifact[],
  key: CosignKey,
  ctx: SourceContext,
  fetchPayload: (sig: Artifact, digest: string, size: number) => Promise<Buffer>,
): Promise<string> {
  const tag = `sha256-${digestHex(subject)}.sig`;
  const sig = attached.find((a) => a.version === tag);
  const hint = `sign it with: cosign sign --key <cosign.key> ${image}@${subject}, or remove verify: for this image`;
  if (!sig) throw new TrustError(`image ${image}: no cosign signature (the registry has no ${tag} tag) — verify.cosignKey ${key.file} requires one`, { subject: image, hint });
  const manifest = parseManifest(await readFile(ctx.store.path(sig.digest)), undefined);
  const layers = manifest.kind === 'manifest' ? manifest.layers.filter((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE) : [];
  if (!layers.length) throw new TrustError(`image ${image}: ${tag} holds no cosign simple-signing layer`, { subject: image, hint });
  const problems: string[] = [];
  for (const layer of layers) {
    const b64 = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
    if (!b64) {
      problems.push(`layer ${layer.digest} has no ${COSIGN_SIGNATURE_ANNOTATION} annotation`);
      continue;
    }
    const payload = await fetchPayload(sig, layer.digest, layer.size);
    if (!verifySignature('sha256', payload, key.key, Buffer.from(b64, 'base64'))) {
      problems.push(`the signature in layer ${layer.digest} is not by key ${key.id} (${key.file})`);
      continue;
    }
    let doc: SimpleSigning;
    try {
      doc = JSON.parse(payload.toString('utf8')) as SimpleSigning;
    } catch {
      problems.push(`layer ${layer.digest}: the signed payload is not JSON`);
      continue;
    }
    const named = doc.critical?.image?.['docker-manifest-digest'];
    if (named !== subject) {
      problems.push(`the signature by key ${key.id} is over ${named ?? 'no digest'}, not the image's ${subject}`);
      continue;
    }
    return `cosign signature by key ${key.id} over ${subject} verified (${tag}, simple-signing, ECDSA P-256)`;
  }
  throw new TrustError(`image ${image}: cosign signature check failed: ${problems.join('; ')}`, { subject: image, hint });
}
