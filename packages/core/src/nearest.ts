/**
 * The names or versions an upstream has that are nearest to what was asked for (edit distance, then
 * alphabetical): for "did you mean" hints on a name or version it does not have (docs/exit-codes.md).
 */
export function nearest(wanted: string, have: Iterable<string>, count = 5): string[] {
  const w = wanted.toLowerCase();
  const scored = [...new Set(have)].map((h) => ({ h, d: distance(w, h.toLowerCase()) }));
  const limit = Math.max(2, Math.ceil(w.length / 2));
  return scored
    .filter((s) => s.d <= limit || s.h.toLowerCase().includes(w) || w.includes(s.h.toLowerCase()))
    .sort((a, b) => a.d - b.d || (a.h < b.h ? -1 : a.h > b.h ? 1 : 0))
    .slice(0, count)
    .map((s) => s.h);
}

/** Levenshtein distance with adjacent transposition (a swapped pair of letters counts as one edit). */
export function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** `; nearest: a, b, c` for a hint, or '' when nothing is near. */
export function nearestText(wanted: string, have: Iterable<string>, what = 'nearest'): string {
  const n = nearest(wanted, have);
  return n.length ? `; ${what}: ${n.join(', ')}` : '';
}
