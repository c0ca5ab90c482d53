import { Flags } from '@oclif/core';
import { type ProgressEvent, UsageError, formatSize } from '@airgap/core';

/** `--progress-interval` of pack, verify and unpack (docs/cron.md). */
export const progressIntervalFlag = Flags.string({
  description: 'without a terminal (cron): a heartbeat line with bytes, rate and ETA this often: 30s, 500ms, 2m',
  default: '30s',
});

/** How long the rate looks back: long enough to be steady, short enough to follow a slowed upstream. */
const RATE_WINDOW_MS = 10_000;

/**
 * The bytes of one phase (docs/transfers.md, progress): what is done, of how much, how fast, and when it
 * will end. Fed with the phase's own total (`phase` events with `bytes`), counted bytes (`bytes` events:
 * writing, verifying) and the transfer engine's per-blob events (downloads, pushes), which it consumes
 * generically: a blob's latest `done` counts, so resumed and parallel transfers add up right.
 */
export class ByteMeter {
  private counted = 0;
  private declared?: number;
  /** Per transfer: its bytes done and expected; finished ones stay, so the phase total never shrinks. */
  private readonly blobs = new Map<string, { done: number; total?: number }>();
  private readonly samples: { at: number; done: number }[] = [];

  constructor(private readonly now: () => number = Date.now) {
    this.samples.push({ at: now(), done: 0 });
  }

  /** Take an event; true when it changed the bytes. */
  feed(e: ProgressEvent): boolean {
    if (e.type === 'phase') {
      if (e.bytes !== undefined) this.declared = e.bytes;
      return e.bytes !== undefined;
    }
    if (e.type === 'bytes') {
      this.counted += e.bytes;
    } else if (e.type === 'transfer') {
      // A blob without a digest beforehand (a file URL) is named by its digest only in its `done` event.
      const key = `${e.direction} ${e.digest ?? ''} ${e.subject}`;
      const anonymous = `${e.direction}  ${e.subject}`;
      let b = this.blobs.get(key);
      if (!b && e.digest && this.blobs.has(anonymous)) {
        b = this.blobs.get(anonymous)!;
        this.blobs.delete(anonymous);
      }
      b ??= { done: 0 };
      if (e.state === 'failed') b.done = Math.min(b.done, e.done);
      else b.done = e.done;
      if (e.total !== undefined) b.total = e.total;
      this.blobs.set(key, b);
    } else return false;
    this.sample();
    return true;
  }

  get done(): number {
    let n = this.counted;
    for (const b of this.blobs.values()) n += b.done;
    return n;
  }

  /** The phase's total: what it declared, else the sum of the totals the transfers announced so far. */
  get total(): number | undefined {
    if (this.declared !== undefined) return Math.max(this.declared, this.done);
    if (!this.blobs.size) return undefined;
    let n = 0;
    for (const b of this.blobs.values()) {
      if (b.total === undefined) return undefined;
      n += b.total;
    }
    return n;
  }

  /** Bytes per second over the last few seconds. */
  rate(): number {
    this.sample();
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const ms = last.at - first.at;
    return ms > 0 ? ((last.done - first.done) * 1000) / ms : 0;
  }

  /** "12.0 MiB / 30.0 MiB (40%), 3.00 MiB/s, ETA 6 s"; what is unknown is left out. */
  text(): string {
    const done = this.done;
    const total = this.total;
    if (!done && !total) return '';
    const rate = this.rate();
    const parts = [total ? `${formatSize(done)} / ${formatSize(total)} (${Math.min(100, Math.floor((done / total) * 100))}%)` : formatSize(done)];
    if (rate > 0) parts.push(`${formatSize(Math.round(rate))}/s`);
    if (total && rate > 0 && done < total) parts.push(`ETA ${duration((total - done) / rate)}`);
    return parts.join(', ');
  }

  /** At the end of a phase: the bytes it moved. */
  finalText(): string {
    return this.done ? formatSize(this.done) : '';
  }

  private sample(): void {
    const at = this.now();
    const done = this.done;
    const last = this.samples[this.samples.length - 1];
    if (at - last.at < 200 && this.samples.length > 1) last.done = done;
    else this.samples.push({ at, done });
    while (this.samples.length > 2 && at - this.samples[1].at > RATE_WINDOW_MS) this.samples.shift();
  }
}

/** Seconds as "45 s", "3 min 20 s", "2 h 05 min". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** `--progress-interval`: "30s", "500ms", "2m" or plain seconds; at least 100 ms. */
export function parseInterval(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$/i.exec(text);
  const ms = m ? Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, min: 60_000 }[(m[2] ?? 's').toLowerCase() as 'ms'] ?? 1000) : NaN;
  if (!Number.isFinite(ms) || ms < 100) throw new UsageError(`--progress-interval: ${JSON.stringify(text)} is not a duration of at least 100ms`, { subject: '--progress-interval', hint: 'e.g. 30s, 500ms, 2m' });
  return Math.round(ms);
}
