import { describe, expect, it } from 'vitest';
import { ByteMeter, duration, parseInterval } from '../../src/progress.js';

describe('ByteMeter (docs/transfers.md, progress)', () => {
  it('adds transfers generically: resumed and parallel blobs, a digest known only when done, rate and ETA', () => {
    let now = 0;
    const m = new ByteMeter(() => now);
    m.feed({ type: 'phase', phase: 'fetch', bytes: 4 << 20 });
    m.feed({ type: 'transfer', direction: 'download', state: 'start', subject: 'file a', done: 0, total: 2 << 20 });
    m.feed({ type: 'transfer', direction: 'download', state: 'resumed', subject: 'layer', digest: 'sha256:b', done: 512 << 10, total: 2 << 20 });
    now = 1000;
    m.feed({ type: 'transfer', direction: 'download', state: 'progress', subject: 'file a', done: 1 << 20, total: 2 << 20 });
    now = 2000;
    // The URL's blob is named by its digest only when done: it is the same blob, not a second one.
    m.feed({ type: 'transfer', direction: 'download', state: 'done', subject: 'file a', digest: 'sha256:a', done: 2 << 20, total: 2 << 20 });
    expect(m.done).toBe((2 << 20) + (512 << 10));
    expect(m.total).toBe(4 << 20);
    expect(m.rate()).toBeCloseTo(((2 << 20) + (512 << 10)) / 2, -3);
    expect(m.text()).toMatch(/^2\.50 MiB \/ 4\.00 MiB \(62%\), 1\.25 MiB\/s, ETA 1 s$/);
    // A failed transfer keeps only what it reported; counted bytes (writing, verifying) add up.
    m.feed({ type: 'transfer', direction: 'download', state: 'failed', subject: 'layer', digest: 'sha256:b', done: 0 });
    m.feed({ type: 'bytes', bytes: 100 });
    expect(m.done).toBe((2 << 20) + 100);
  });

  it('without a declared total sums the announced ones; unknown stays unknown', () => {
    const m = new ByteMeter(() => 0);
    expect(m.text()).toBe('');
    m.feed({ type: 'transfer', direction: 'upload', state: 'start', subject: 'x', done: 0, total: 10 });
    expect(m.total).toBe(10);
    m.feed({ type: 'transfer', direction: 'upload', state: 'start', subject: 'y', done: 0 });
    expect(m.total).toBeUndefined();
  });

  it('formats durations and parses --progress-interval', () => {
    expect([duration(5), duration(200), duration(7300)]).toEqual(['5 s', '3 min 20 s', '2 h 01 min']);
    expect([parseInterval('30s'), parseInterval('500ms'), parseInterval('2m'), parseInterval('3')]).toEqual([30_000, 500, 120_000, 3000]);
    for (const bad of ['soon', '50ms', '', '-1s']) expect(() => parseInterval(bad)).toThrow(/progress-interval/);
  });
});
