import { redact } from './log.js';

/**
 * The typed errors of docs/exit-codes.md. Each carries the exit code the CLI returns, the thing at fault
 * (file, part, artifact, URL, HTTP status) and a hint saying what to do. Only the command layer turns
 * them into output (src/base-command.ts); everything below throws.
 */
export interface ErrorDetails {
  /** The thing at fault: a file, part, artifact, URL (without credentials), key path. */
  subject?: string;
  /** What the operator can do about it. */
  hint?: string;
  cause?: unknown;
}

export abstract class AirgapError extends Error {
  abstract readonly exitCode: 0 | 1 | 2 | 3 | 4;
  readonly subject?: string;
  readonly hint?: string;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.subject = details.subject;
    this.hint = details.hint;
  }
}

/** Bad command line, manifest or config (exit 2). */
export class UsageError extends AirgapError {
  readonly exitCode = 2 as const;
}

/** Checksum mismatch, missing or truncated part, unsafe path, hostile tar entry (exit 3). */
export class IntegrityError extends AirgapError {
  readonly exitCode = 3 as const;
}

/** Missing, bad or untrusted signature (exit 3). */
export class TrustError extends AirgapError {
  readonly exitCode = 3 as const;
}

/** An upstream (registry, repository, file server) failed or refused (exit 1). */
export class UpstreamError extends AirgapError {
  readonly exitCode = 1 as const;
}

/** The publishing target (Nexus, registry, directory) failed or refused (exit 1). */
export class TargetError extends AirgapError {
  readonly exitCode = 1 as const;
}

/** Some artifacts failed to publish, or were skipped with --keep-going (exit 4). */
export class PartialError extends AirgapError {
  readonly exitCode = 4 as const;
  readonly failures: { artifact: string; error: string }[];
  constructor(message: string, failures: { artifact: string; error: string }[], details: ErrorDetails = {}) {
    super(message, details);
    this.failures = failures;
  }
}

/** Another airgap run holds the lock on the same ledger or pack output folder (exit 1: retry later). */
export class BusyError extends AirgapError {
  readonly exitCode = 1 as const;
}

/** A bug or an unexpected local failure (exit 1). */
export class InternalError extends AirgapError {
  readonly exitCode = 1 as const;
}

export function isAirgapError(e: unknown): e is AirgapError {
  return e instanceof AirgapError;
}

/** The one-line text of any thrown value, for ledgers and summaries. */
export function errorText(e: unknown): string {
  // The ledger and summaries take this text: registered secrets are scrubbed from it (docs/ledger.md).
  if (e instanceof AirgapError) return redact(e.message + (e.hint ? ` (${e.hint})` : ''));
  if (e instanceof Error) return redact(e.message);
  return redact(String(e));
}
