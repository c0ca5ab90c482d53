import { UsageError } from './errors.js';

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4,
};

/** Sizes as docs/exit-codes.md writes them: `512MiB`, `1GiB`, `4.7GB`, plain bytes. */
export function parseSize(text: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(String(text));
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UsageError(`${what}: cannot read ${JSON.stringify(text)} as a size`, {
      subject: what,
      hint: 'write it as plain bytes or with a unit: 512MiB, 1GiB, 4.7GB',
    });
  }
  const n = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`${what}: ${JSON.stringify(text)} is not a positive size`, { subject: what });
  }
  return n;
}

export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/**
 * `--media` presets: the largest file each medium takes (docs/transfer.md). FAT32 stores at most
 * 4 GiB − 1 bytes per file; a single-layer DVD holds 4.7 GB, a BD-25 25 GB (decimal, as sold).
 */
export const MEDIA_CHUNK_SIZES: Record<string, number> = { fat32: 4 * 1024 ** 3 - 1, dvd: 4_700_000_000, bd25: 25_000_000_000 };
