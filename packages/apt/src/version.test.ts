import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compareVersions, parseVersion, satisfies } from './version.js';

/** Hand-picked versions covering epochs, `~`, revisions, letters vs symbols, leading zeros. */
const VERSIONS = [
  '0', '1', '1.0', '1.0-0', '1.0-1', '1.0-1.1', '1.0.0', '1.00', '1.0~rc1', '1.0~rc1-1', '1.0~~', '1.0~', '1.0~a',
  '1.0a', '1.0+b1', '1.0+dfsg-1', '1.0-1+deb12u1', '1.0-1~bpo12+1', '1:1.0', '1:0.9', '2:0', '0:1.0', '10', '9.9.9',
  '1.2.3-4ubuntu1', '1.2.3-4ubuntu0.1', '1.2.10', '1.2.9', '7.88.1-10+deb12u8', '7.88.1-10+deb12u12', '2.36-9+deb12u9',
  '1.22.1-9', '1.22.1-9+deb12u1', '3.0.11-1~deb12u2', '3.0.15-1~deb12u1', 'a', '1-2-3', '1.0-a', '1.0-A', '1.0.a', '1.0-', '1.0-1-', '1.0+~', '1.0.~',
];

/** A small deterministic generator of valid-looking versions for breadth (upstream starts with a digit). */
function* randomVersions(n: number): Generator<string> {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const alphabet = '0123456789..~~+-abz';
  for (let i = 0; i < n; i++) {
    let s = String(next() % 10);
    const len = next() % 8;
    for (let j = 0; j < len; j++) s += alphabet[next() % alphabet.length];
    if (next() % 4 === 0) s = `${next() % 3}:${s}`;
    yield s;
  }
}

async function dpkgCompare(pairs: [string, string][]): Promise<number[]> {
  // One shell runs dpkg for every pair (argument values come through stdin, never through the script text).
  // dpkg exits 1 for "false" and 2 for a version it refuses as malformed (e.g. an empty revision): those print x.
  const script = 'while IFS=" " read -r a b; do dpkg --compare-versions "$a" lt "$b" 2>/dev/null; lt=$?; dpkg --compare-versions "$a" eq "$b" 2>/dev/null; eq=$?; if [ $lt -gt 1 ] || [ $eq -gt 1 ]; then echo x; elif [ $lt -eq 0 ]; then echo -1; elif [ $eq -eq 0 ]; then echo 0; else echo 1; fi; done';
  const r = await execa('sh', ['-c', script], { input: pairs.map(([a, b]) => `${a} ${b}`).join('\n') + '\n' });
  return String(r.stdout).trim().split('\n').map((x) => (x === 'x' ? NaN : Number(x)));
}

describe('compareVersions matches dpkg --compare-versions', () => {
  it('on every pair of hand-picked versions and on generated pairs', async () => {
    const pairs: [string, string][] = [];
    for (const a of VERSIONS) for (const b of VERSIONS) if (a < b) pairs.push([a, b]);
    const gen = [...randomVersions(300)];
    for (let i = 0; i + 1 < gen.length; i += 2) pairs.push([gen[i], gen[i + 1]]);
    for (const v of gen.slice(0, 20)) pairs.push([v, v]);
    const all = await dpkgCompare(pairs);
    expect(all.length).toBe(pairs.length);
    // Only pairs dpkg accepts as versions can be compared against it; most must be such pairs.
    const valid = pairs.filter((_, i) => !Number.isNaN(all[i]));
    const expected = all.filter((x) => !Number.isNaN(x));
    expect(valid.length).toBeGreaterThan(pairs.length * 0.8);
    const ours = valid.map(([a, b]) => Math.sign(compareVersions(a, b)));
    const mismatches = valid.filter((_, i) => ours[i] !== expected[i]).map(([a, b]) => `${a} vs ${b}`);
    expect(mismatches).toEqual([]);
    // The comparison is antisymmetric, as dpkg's is.
    for (const [a, b] of valid.slice(0, 200)) expect(Math.sign(compareVersions(b, a)) + Math.sign(compareVersions(a, b))).toBe(0);
    // The set really exercises all three outcomes.
    expect(new Set(expected)).toEqual(new Set([-1, 0, 1]));
  }, 120_000);

  it('orders ~ before the end of the string and the epoch before everything', () => {
    expect(compareVersions('1.0~rc1', '1.0')).toBeLessThan(0);
    expect(compareVersions('1.0~~', '1.0~')).toBeLessThan(0);
    expect(compareVersions('1:0.1', '9.9')).toBeGreaterThan(0);
    expect(compareVersions('1.0', '1.0-0')).toBe(0);
  });

  it('parses epoch, upstream and revision at the last hyphen', () => {
    expect(parseVersion('2:1.2-3-4')).toEqual({ epoch: 2, upstream: '1.2-3', revision: '4' });
    expect(parseVersion('1.2')).toEqual({ epoch: 0, upstream: '1.2', revision: '' });
  });

  it('evaluates every relation operator', () => {
    expect(satisfies('1.0', '<<', '1.1')).toBe(true);
    expect(satisfies('1.1', '<<', '1.1')).toBe(false);
    expect(satisfies('1.1', '<=', '1.1')).toBe(true);
    expect(satisfies('1.1', '=', '1.1-0')).toBe(true);
    expect(satisfies('1.0', '>=', '1.1')).toBe(false);
    expect(satisfies('1.2', '>>', '1.1')).toBe(true);
    expect(satisfies('1.1', '>>', '1.1')).toBe(false);
  });
});
