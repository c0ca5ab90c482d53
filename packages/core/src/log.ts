import type { Artifact } from './artifact.js';
import type { TransferProgress } from './transfer.js';

/** Where library code reports what it does. The CLI renders it (listr2 on a TTY, plain lines in cron). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export type ProgressEvent =
  /** `total`: artifacts the phase works on; `bytes`: the bytes it will move (for percent and ETA). */
  | { type: 'phase'; phase: string; total?: number; bytes?: number }
  /**
   * `would-push`: a dry run would send it. `sameAs`: a dry run already counts this content under another
   * artifact (the same image by tag and by digest): a real run sends it once, so it is not counted again.
   */
  | { type: 'artifact'; state: 'start' | 'done' | 'pushed' | 'failed' | 'skipped' | 'present' | 'would-push'; artifact: Pick<Artifact, 'kind' | 'name' | 'version' | 'platform'>; error?: string; sameAs?: string }
  | { type: 'bytes'; bytes: number }
  | TransferProgress;

export type ProgressSink = (event: ProgressEvent) => void;

export const silentLogger: Logger = { info() {}, warn() {}, debug() {} };

const registeredSecrets = new Set<string>();

/**
 * A secret read during this run (an S3 secret key, a password): `redact` scrubs it from every text from
 * now on, whether or not the caller passes it (docs/ledger.md).
 */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 3) registeredSecrets.add(value);
}

/**
 * Scrub credentials from text that may be printed: `user:pass@` in URLs, any of the given secret
 * values (passwords and tokens read from the environment) and every registered one. docs/ledger.md: no secret
 * in logs, errors or ledger.
 */
export function redact(text: string, secrets: Iterable<string | undefined> = []): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s:]+(?::[^/@\s]*)?@/gi, '$1');
  for (const s of [...secrets, ...registeredSecrets]) {
    if (s && s.length >= 3) out = out.split(s).join('***');
  }
  return out;
}

/** A URL as it may appear in output: no userinfo. */
export function safeUrl(url: string | URL): string {
  try {
    const u = new URL(String(url));
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return redact(String(url));
  }
}
