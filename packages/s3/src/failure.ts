import { type AirgapError, TargetError, UpstreamError, isAirgapError, redact } from '@airgap/core';

/** Which side an S3 failure is blamed on: a tree source (pack, UpstreamError) or an s3 target (unpack, TargetError). Both exit 1. */
export type S3Side = 'upstream' | 'target';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
]);

interface FailureAbout {
  side: S3Side;
  /** What was being done: `list`, `download`, `upload`, `check`, `open bucket`. */
  what: string;
  /** `s3://bucket/key` */
  subject: string;
  connection: { name: string; endpoint: URL; settings: { accessKeyEnv: string; secretKeyEnv: string }; secrets: string[] };
}

/**
 * An SDK or network error as the typed error of docs/backups.md: a refusal of the credentials names the
 * environment variables they came from (never their values), a missing bucket names the bucket, a
 * certificate problem points at `caFile`. Exit 1 on both sides; an integrity error passes through (exit 3).
 */
export function s3Failure(e: unknown, about: FailureAbout): AirgapError {
  if (isAirgapError(e)) return e;
  const err = (e ?? {}) as SdkError;
  const Err = about.side === 'target' ? TargetError : UpstreamError;
  const { name: conn, endpoint, settings } = about.connection;
  const at = `s3.${conn} (${endpoint.host})`;
  const status = err.$metadata?.httpStatusCode;
  const code = err.name && err.name !== 'Error' && err.name !== 'UnknownError' ? err.name : err.code;
  const said = redact(String(err.message ?? e), about.connection.secrets);
  const make = (message: string, hint?: string) => new Err(redact(message, about.connection.secrets), { subject: about.subject, hint, cause: e });

  if (code === 'InvalidAccessKeyId') {
    return make(`${at} does not know the access key in ${settings.accessKeyEnv} (${about.what} ${about.subject}: 403 InvalidAccessKeyId)`, `set ${settings.accessKeyEnv} to the access key of an S3 user of that service`);
  }
  if (code === 'SignatureDoesNotMatch') {
    return make(`${at} refused the signature: the secret key in ${settings.secretKeyEnv} does not belong to the access key in ${settings.accessKeyEnv} (${about.what} ${about.subject}: 403 SignatureDoesNotMatch)`, `set ${settings.secretKeyEnv} to that user's secret key`);
  }
  if (status === 403) {
    return make(`${at} refused to ${about.what} ${about.subject} (403${code ? ' ' + code : ''}): the credentials in ${settings.accessKeyEnv} / ${settings.secretKeyEnv} are wrong or that user may not do this`, `check ${settings.accessKeyEnv} and ${settings.secretKeyEnv}, and the user's permissions on the bucket`);
  }
  if (code === 'NoSuchBucket' || (status === 404 && about.what === 'open bucket')) {
    return make(`${at}: bucket ${about.subject.replace(/^s3:\/\/([^/]*).*$/, '$1')} does not exist (${about.what} ${about.subject})`, about.side === 'target' ? 'create the bucket first (airgap does not create buckets)' : 'check the bucket in the manifest URL');
  }
  if (code === 'NoSuchKey' || status === 404) {
    return make(`${at}: ${about.subject} is not there (${about.what}: 404)`, about.side === 'upstream' ? 'the object was deleted while packing: pack again' : undefined);
  }
  if (err.code && TLS_CODES.has(err.code)) {
    return make(`${at}: the TLS certificate of ${endpoint.host} is not trusted (${err.code})`, `set s3.${conn}.caFile to the PEM file of the CA that signed it; TLS verification is never turned off`);
  }
  if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || err.code === 'ECONNRESET' || err.code === 'ETIMEDOUT') {
    return make(`${at}: cannot ${about.what} ${about.subject}: ${err.code}`, `check s3.${conn}.endpoint and that the service is up`);
  }
  return make(`${at}: ${about.what} ${about.subject} failed${status ? ` (HTTP ${status}${code ? ' ' + code : ''})` : code ? ` (${code})` : ''}: ${said}`);
}
