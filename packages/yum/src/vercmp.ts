/**
 * RPM version comparison, ported from rpm's rpmvercmp() (lib/rpmvercmp.c, rpm 4.18): segments of ASCII
 * digits or letters are compared pairwise, numbers numerically and newer than letters, `~` sorts before
 * everything (pre-releases), `^` after the base but before the next segment (snapshots). Tested against
 * `rpm --eval '%{lua: rpm.vercmp(...)}'` in vercmp.test.ts.
 */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  const isAlpha = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
  const isAlnum = (c: string | undefined) => isDigit(c) || isAlpha(c);
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < a.length && j < b.length)) break;
    let ei = i;
    let ej = j;
    const numeric = isDigit(a[i]);
    if (numeric) {
      while (ei < a.length && isDigit(a[ei])) ei++;
      while (ej < b.length && isDigit(b[ej])) ej++;
    } else {
      while (ei < a.length && isAlpha(a[ei])) ei++;
      while (ej < b.length && isAlpha(b[ej])) ej++;
    }
    if (ei === i) return -1;
    // Segments of different types: a number is newer than letters.
    if (ej === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length > sb.length) return 1;
      if (sb.length > sa.length) return -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** epoch:version-release; a missing epoch is 0 and a missing release is not compared (rpmdsCompareEVR). */
export interface Evr {
  epoch?: string;
  version: string;
  release?: string;
}

export function compareEvr(a: Evr, b: Evr): -1 | 0 | 1 {
  const ea = a.epoch || '0';
  const eb = b.epoch || '0';
  let sense = rpmvercmp(ea, eb);
  if (sense === 0) sense = rpmvercmp(a.version, b.version);
  if (sense === 0 && a.release && b.release) sense = rpmvercmp(a.release, b.release);
  return sense;
}

/** `[epoch:]version[-release]` as written in requirements and `rpm -q`. */
export function parseEvr(s: string): Evr {
  let rest = s;
  let epoch: string | undefined;
  const colon = rest.indexOf(':');
  if (colon >= 0 && /^\d*$/.test(rest.slice(0, colon))) {
    epoch = rest.slice(0, colon) || undefined;
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash >= 0) return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
  return { epoch, version: rest };
}

export function formatEvr(e: Evr): string {
  return `${e.epoch && e.epoch !== '0' ? e.epoch + ':' : ''}${e.version}${e.release ? '-' + e.release : ''}`;
}

/** Relation flags as primary.xml writes them (`flags="GE"`). */
export type Flag = 'EQ' | 'LT' | 'LE' | 'GT' | 'GE';

const LESS = 1;
const GREATER = 2;
const EQUAL = 4;
const BITS: Record<Flag, number> = { EQ: EQUAL, LT: LESS, LE: LESS | EQUAL, GT: GREATER, GE: GREATER | EQUAL };

export const FLAG_OF_OPERATOR: Record<string, Flag> = { '=': 'EQ', '==': 'EQ', '<': 'LT', '<=': 'LE', '>': 'GT', '>=': 'GE' };

/**
 * Do a provide and a requirement on the same name overlap? rpm's rpmdsCompare: an unversioned side
 * always overlaps; otherwise compare the EVRs and test the sense against both sides' flags.
 */
export function rangesOverlap(provide: { flags?: Flag; evr?: Evr }, require: { flags?: Flag; evr?: Evr }): boolean {
  if (!provide.flags || !provide.evr || !require.flags || !require.evr) return true;
  const a = BITS[provide.flags];
  const b = BITS[require.flags];
  const sense = compareEvr(provide.evr, require.evr);
  if (sense < 0) return Boolean(a & GREATER || b & LESS);
  if (sense > 0) return Boolean(a & LESS || b & GREATER);
  return Boolean((a & EQUAL && b & EQUAL) || (a & LESS && b & LESS) || (a & GREATER && b & GREATER));
}
