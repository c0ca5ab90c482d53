import { type BundleIndex, type ProgressEvent, type ProgressSink, InternalError } from '@airgap/core';

/**
 * Pack writes the bundle while it downloads (docs/transfers.md "Writing while downloading"): when every
 * artifact's digests and sizes are known before its download (no `files:` URL without a sha256, no
 * --keep-going), the signed index is complete before the first byte arrives, so the part writer starts
 * at once and copies each blob into the parts as soon as the cache holds it, while the next ones
 * download. Bundle order stays the index's; nothing is signed before every download has been checked.
 *
 * BlobGate holds one promise per blob of the index: resolved when the blob is in the content store
 * (a download's `done` event, which the engine sends after the checked rename into the store, or an
 * artifact's fetch returning), rejected with the download phase's error so the writer stops and removes
 * its temporary directory.
 */
export class BlobGate {
  private readonly waits = new Map<string, { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void }>();
  private failure: unknown;

  constructor(digests: Iterable<string>) {
    for (const digest of digests) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined); // the writer may stop before it reaches this blob
      this.waits.set(digest, { promise, resolve, reject });
    }
  }

  /** Resolves when `digest` is in the store; undefined for a blob the gate does not hold (never waited for). */
  ready(digest: string): Promise<void> | undefined {
    return this.waits.get(digest)?.promise;
  }

  /** The blob is in the content store, checked. */
  stored(digest: string): void {
    this.waits.get(digest)?.resolve();
  }

  /** The download phase failed: every blob not yet stored rejects with its error. */
  fail(e: unknown): void {
    this.failure ??= e;
    for (const w of this.waits.values()) w.reject(this.failure);
  }

  /** A progress sink that tells the gate about every finished download, then passes the event on. */
  watch(next: ProgressSink): ProgressSink {
    return (e: ProgressEvent) => {
      if (e.type === 'transfer' && e.direction === 'download' && e.state === 'done' && e.digest) this.stored(e.digest);
      next(e);
    };
  }
}

/** The index written before the downloads must be what they leave: an ecosystem that changes an artifact in fetch says so (`SourceHalf.pending`). */
export function unchangedIndex(index: BundleIndex, snapshot: string): void {
  if (JSON.stringify(index) !== snapshot) {
    throw new InternalError('an artifact changed while it was fetched, after the bundle index was written', {
      hint: 'its ecosystem must mark such artifacts with SourceHalf.pending (packages/core/src/ecosystem.ts)',
    });
  }
}

/**
 * Bytes the writer reports while the download phase is still on screen are held back, then given to the
 * writing phase when it starts (`release`), so each phase's meter counts only its own bytes.
 */
export class HeldBytes {
  private held = 0;
  private sink: ProgressSink | undefined;

  readonly onBytes = (n: number): void => {
    if (this.sink) this.sink({ type: 'bytes', bytes: n });
    else this.held += n;
  };

  release(sink: ProgressSink): void {
    this.sink = sink;
    if (this.held) sink({ type: 'bytes', bytes: this.held });
    this.held = 0;
  }
}
