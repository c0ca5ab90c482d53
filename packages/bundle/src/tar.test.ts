import { spawnSync, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TarStreamParser, padding, tarHeader, tarTrailer } from './tar.js';

const tmp = mkdtempSync(join(tmpdir(), 'airgap-tar-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const mtime = new Date('2026-01-02T03:04:05Z');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function parse(tar: Buffer, chunk: number): TarStreamParser {
  const p = new TarStreamParser({ createHash });
  for (let i = 0; i < tar.length; i += chunk) p.push(tar.subarray(i, i + chunk));
  p.end();
  return p;
}

describe('tar headers', () => {
  it('uses a pax path only for names ustar cannot hold; GNU tar lists them exactly', () => {
    const long = 'a/' + 'x'.repeat(150) + '/file';
    const unicode = 'blobs/héllo-✓';
    const data = randomBytes(1000);
    const parts: Buffer[] = [];
    for (const name of ['short', long, unicode]) parts.push(tarHeader({ name, size: data.length, type: 'file', mtime }), data, Buffer.alloc(padding(data.length)));
    expect(tarHeader({ name: 'short', size: 1, type: 'file', mtime })).toHaveLength(512);
    const body = Buffer.concat(parts);
    const tar = Buffer.concat([body, tarTrailer(body.length)]);
    expect(tar.length % 10240).toBe(0);
    const file = join(tmp, 'names.tar');
    writeFileSync(file, tar);
    expect(execFileSync('tar', ['-tf', file], { encoding: 'utf8' })).toBe(`short\n${long}\n${unicode}\n`);
    const p = parse(tar, 4096);
    expect(p.entries.map((e) => [e.name, e.size, e.sha256])).toEqual([
      ['short', 1000, sha256(data)],
      [long, 1000, sha256(data)],
      [unicode, 1000, sha256(data)],
    ]);
  });

  it('records sizes of 8 GiB and more in a pax header (GNU tar reads the size)', () => {
    const size = 9 * 2 ** 30 + 7;
    const file = join(tmp, 'big.tar');
    writeFileSync(file, Buffer.concat([tarHeader({ name: 'big', size, type: 'file', mtime }), Buffer.alloc(512)]));
    // The data is absent, so tar fails at EOF, but only after listing the member with its size.
    const r = spawnSync('tar', ['-tvf', file], { encoding: 'utf8' });
    expect(r.stdout).toMatch(new RegExp(` ${size} 2026-01-02 03:04 big\\n`));
  });
});

describe('TarStreamParser on archives made by GNU tar', () => {
  const src = join(tmp, 'src');
  mkdirSync(join(src, 'd', 'y'.repeat(120)), { recursive: true });
  const files: Record<string, Buffer> = { 'd/a': randomBytes(0), 'd/b': randomBytes(511), [`d/${'y'.repeat(120)}/c`]: randomBytes(70_000) };
  for (const [name, data] of Object.entries(files)) writeFileSync(join(src, name), data);

  for (const format of ['gnu', 'posix', 'ustar']) {
    it(`reads --format=${format} in any chunking, with names and hashes`, () => {
      const file = join(tmp, `${format}.tar`);
      const names = format === 'ustar' ? ['d/a', 'd/b'] : Object.keys(files); // ustar cannot hold the 124-byte name without a prefix split
      execFileSync('tar', [`--format=${format}`, '-cf', file, ...names], { cwd: src });
      const tar = readFileSync(file);
      for (const chunk of [1, 100, 511, 513, 65536]) {
        const p = parse(tar, chunk);
        const got = p.entries.filter((e) => e.type === 'file').map((e) => [e.name, e.sha256]);
        expect(got).toEqual(names.map((n) => [n, sha256(files[n])]));
      }
    });
  }

  it('refuses a bad header checksum, bytes after the end, and a truncated archive', () => {
    const file = join(tmp, 'c.tar');
    execFileSync('tar', ['--format=ustar', '-cf', file, 'd/b'], { cwd: src });
    const tar = readFileSync(file);
    const badSum = Buffer.from(tar);
    badSum[0] ^= 1;
    expect(() => parse(badSum, 4096)).toThrow(/bad tar header checksum/);
    const trailing = Buffer.from(tar);
    trailing[trailing.length - 1] = 7;
    expect(() => parse(trailing, 4096)).toThrow(/non-zero byte after the end/);
    expect(() => parse(tar.subarray(0, 700), 4096)).toThrow(/truncated/);
    const padded = Buffer.from(tar);
    padded[512 + 511] = 1; // the one padding byte after d/b's 511 bytes
    expect(() => parse(padded, 4096)).toThrow(/non-zero padding byte at tar offset 1023/);
  });
});
