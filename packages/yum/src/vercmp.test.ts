import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compareEvr, parseEvr, rangesOverlap, rpmvercmp } from './vercmp.js';

const FIXED: [string, string][] = [
  ['1.0', '1.0'], ['1.0', '2.0'], ['2.0', '1.0'], ['2.0.1', '2.0.1'], ['2.0', '2.0.1'], ['2.0.1a', '2.0.1'],
  ['5.5p1', '5.5p2'], ['5.5p10', '5.5p1'], ['10xyz', '10.1xyz'], ['xyz10', 'xyz10.1'], ['xyz.4', '8'],
  ['1.0', '1.0a'], ['1.0a', '1.0'], ['1b.fc17', '1.fc17'], ['1.0~rc1', '1.0'], ['1.0~rc1', '1.0~rc2'],
  ['1.0~rc1~git123', '1.0~rc1'], ['1.0^', '1.0'], ['1.0^git1', '1.0'], ['1.0^git1', '1.01'], ['1.0^git1', '1.0^git2'],
  ['1.0^git1~pre', '1.0^git1'], ['1.0~rc1^git1', '1.0~rc1'], ['1.0^20160101', '1.0.1'], ['001', '1'], ['1.001', '1.1'],
  ['1..0', '1.0'], ['1.0.', '1.0'], ['a', 'b'], ['FC5', 'fc4'], ['2a', '2.0'], ['1_0', '1.0'], ['1+2', '1.2'],
  ['0.9999', '1'], ['12345678901234567890', '12345678901234567891'],
  ['1.0~', '1.0'], ['~', '0'], ['^', '0'], ['1.0^~', '1.0^'], ['r', '1'], ['.', '..'],
];

// rpm.vercmp in rpm's Lua parses its arguments as [epoch:]version[-release]; these pairs check the EVR
// comparison (compareEvr) against it.
const EVR_PAIRS: [string, string][] = [
  ['1:1.0-1', '2.0-1'], ['0:1.0-1', '1.0-1'], ['1.0-2', '1.0-10'], ['1.0-1.el9', '1.0-1.el9_1'], ['2:0.1-1', '1:9.9-9'],
  ['1.0-1', '1.0-1'], ['1.0~rc1-1', '1.0-0'], ['3.2-0.1.beta', '3.2-1'],
];

function randomVersions(n: number): [string, string][] {
  // Deterministic pseudo-random pairs over the characters rpmvercmp treats specially.
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  // No '-' or ':' (rpm's Lua would read them as EVR separators); '_' and '+' are plain separators to rpmvercmp.
  const alphabet = ['0', '1', '2', '9', '10', '007', 'a', 'b', 'Z', 'rc', '.', '_', '~', '^', '+'];
  const one = () => Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
  return Array.from({ length: n }, () => {
    const a = one();
    return [a, rnd() < 0.3 ? a + alphabet[Math.floor(rnd() * alphabet.length)] : one()];
  });
}

describe('rpmvercmp', () => {
  it('agrees with rpm itself (rpm.vercmp through rpm --eval) on fixed and generated pairs', async () => {
    const pairs = [...FIXED, ...randomVersions(400)];
    const theirs = await rpmVercmp(pairs);
    const ours = pairs.map(([a, b]) => rpmvercmp(a, b));
    const diffs = pairs.map((p, k) => ({ p, rpm: theirs[k], ours: ours[k] })).filter((d) => d.rpm !== d.ours);
    expect(diffs).toEqual([]);
    // The generated pairs are not all equal: the comparison is exercised both ways.
    expect(new Set(ours)).toEqual(new Set([-1, 0, 1]));
  });
});

async function rpmVercmp(pairs: [string, string][]): Promise<number[]> {
  const lua = pairs.map(([a, b]) => `print(rpm.vercmp([[${a}]], [[${b}]])); print("\\n")`).join(' ');
  const r = await execa('rpm', ['--eval', `%{lua: ${lua}}`]);
  const out = String(r.stdout).split('\n').map((l) => l.trim()).filter((l) => l !== '').map(Number);
  expect(out).toHaveLength(pairs.length);
  return out;
}

describe('EVR and ranges', () => {
  it('compareEvr agrees with rpm on epoch:version-release pairs', async () => {
    const theirs = await rpmVercmp(EVR_PAIRS);
    expect(EVR_PAIRS.map(([a, b]) => compareEvr(parseEvr(a), parseEvr(b)))).toEqual(theirs);
  });

  it('compares epoch first, then version, then release only when both have one', () => {
    expect(compareEvr(parseEvr('1:1.0-1'), parseEvr('2.0-1'))).toBe(1);
    expect(compareEvr(parseEvr('0:1.0-1'), parseEvr('1.0-1'))).toBe(0);
    expect(compareEvr(parseEvr('1.0-2'), parseEvr('1.0'))).toBe(0);
    expect(compareEvr(parseEvr('1.0-2'), parseEvr('1.0-10'))).toBe(-1);
  });

  it('overlaps like rpmdsCompare', () => {
    const p = (s: string) => ({ flags: 'EQ' as const, evr: parseEvr(s) });
    expect(rangesOverlap(p('2.1-1'), { flags: 'GE', evr: parseEvr('2.0') })).toBe(true);
    expect(rangesOverlap(p('1.9-1'), { flags: 'GE', evr: parseEvr('2.0') })).toBe(false);
    expect(rangesOverlap(p('2.0-1'), { flags: 'LT', evr: parseEvr('2.0') })).toBe(false);
    expect(rangesOverlap(p('2.0-1'), { flags: 'EQ', evr: parseEvr('2.0') })).toBe(true);
    expect(rangesOverlap(p('2.0-1'), { flags: 'EQ', evr: parseEvr('2.0-2') })).toBe(false);
    expect(rangesOverlap({}, { flags: 'GE', evr: parseEvr('9') })).toBe(true);
    expect(rangesOverlap({ flags: 'LT', evr: parseEvr('3') }, { flags: 'GT', evr: parseEvr('1') })).toBe(true);
    expect(rangesOverlap({ flags: 'LT', evr: parseEvr('1') }, { flags: 'GT', evr: parseEvr('3') })).toBe(false);
  });
});
