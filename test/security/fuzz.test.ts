import { randomBytes } from 'node:crypto';
import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { AirgapError } from '@airgap/core';
import { type SecretKey, verifyBundle } from '@airgap/bundle';
import { ecosystems } from '../../src/ecosystems.js';
import { runAirgap, tempDir } from '../harness/index.js';
import { type Forged, blob, forgeBundle, goodArtifacts, signingKey } from './forge.js';

/**
 * A bounded fuzz over one multi-part bundle (docs/security.md "What verify checks"): 320 single-byte
 * changes, placed by a seeded PRNG so every run makes the same ones, spread over bundle.json, each line
 * of bundle.json.minisig, SHA256SUMS, and inside the parts over tar headers, file data and the end of
 * the archive. Each goes through the library's verifyBundle (with every ecosystem's validate, as unpack
 * runs it) and is either refused with exit 3 — a part change naming that part — or provably harmless:
 * the changed byte is one minisign does not sign (the untrusted comment, whitespace `trim` drops, unused
 * bits of the last base64 character) or SHA256SUMS's binary-mode mark, shown by decoding the changed
 * file to the very same signed values and by the real `minisign -V` / `sha256sum -c` accepting it too.
 */
const SEED = 0x5eed_0018;
const FLIPS = { 'bundle.json': 50, minisig: 60, SHA256SUMS: 40, header: 90, data: 60, end: 20 } as const;
type Region = keyof typeof FLIPS;

/** mulberry32: a tiny deterministic PRNG, so a failing flip can be replayed by its number. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Flip {
  n: number;
  region: Region;
  file: string;
  at: number;
  xor: number;
}

let root: string;
let dir: string;
let key: SecretKey;
let pub: string;
const files = new Map<string, Buffer>();
const flips: Flip[] = [];

/** Offsets (in the tar stream) of every header block, data block and the end-of-archive blocks. */
function tarRegions(stream: Buffer): Record<'header' | 'data' | 'end', [number, number][]> {
  const out = { header: [] as [number, number][], data: [] as [number, number][], end: [] as [number, number][] };
  let o = 0;
  while (o + 512 <= stream.length) {
    const h = stream.subarray(o, o + 512);
    if (h.every((b) => b === 0)) {
      out.end.push([o, stream.length]);
      break;
    }
    const size = parseInt(h.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    out.header.push([o, o + 512]);
    const padded = Math.ceil(size / 512) * 512;
    if (padded) out.data.push([o + 512, o + 512 + padded]);
    o += 512 + padded;
  }
  return out;
}

beforeAll(async () => {
  root = await tempDir('airgap-fuzz-');
  ({ key, pubFile: pub } = await signingKey(join(root, 'keys')));
  await ecosystems.load('all');
  const g = goodArtifacts();
  const big = blob(randomBytes(24_000));
  const bigFile: Forged = {
    artifact: { kind: 'file', name: 'big.bin', version: '', digest: big.d.digest, blobs: [big.d], upstream: { url: 'http://127.0.0.1/big.bin', verified: 'test' }, meta: { path: 'big.bin' } },
    bytes: new Map([[big.d.digest, big.bytes]]),
  };
  dir = await forgeBundle(join(root, 'b'), key, [bigFile, ...Object.values(g).map((f) => f())], { chunkSize: 8192 });
  for (const f of await readdir(dir)) files.set(f, await readFile(join(dir, f)));
  const parts = [...files.keys()].filter((f) => f.startsWith('part-')).sort();
  const stream = Buffer.concat(parts.map((p) => files.get(p)!));
  const tar = tarRegions(stream);
  const locate = (o: number): [string, number] => {
    for (const p of parts) {
      if (o < files.get(p)!.length) return [p, o];
      o -= files.get(p)!.length;
    }
    throw new Error('offset past the end of the parts');
  };
  const rnd = prng(SEED);
  const pick = (n: number) => Math.floor(rnd() * n);
  const sig = files.get('bundle.json.minisig')!;
  // Each of the four minisig lines (with its newline) gets a quarter of the minisig flips.
  const lineStarts = [0, ...[...sig.entries()].filter(([, b]) => b === 0x0a).map(([i]) => i + 1)].slice(0, 5);
  for (const region of Object.keys(FLIPS) as Region[]) {
    for (let i = 0; i < FLIPS[region]; i++) {
      let file: string;
      let at: number;
      if (region === 'bundle.json' || region === 'SHA256SUMS') [file, at] = [region, pick(files.get(region)!.length)];
      else if (region === 'minisig') {
        const line = i % 4;
        [file, at] = ['bundle.json.minisig', lineStarts[line] + pick(lineStarts[line + 1] - lineStarts[line])];
      } else {
        const [s, e] = tar[region][pick(tar[region].length)];
        [file, at] = locate(s + pick(e - s));
      }
      flips.push({ n: flips.length, region, file, at, xor: 1 + pick(255) });
    }
  }
});

async function poke(file: string, at: number, value: number): Promise<void> {
  const fh = await open(join(dir, file), 'r+');
  try {
    await fh.write(Buffer.from([value]), 0, 1, at);
  } finally {
    await fh.close();
  }
}

async function verdict(): Promise<unknown> {
  return verifyBundle(dir, { trust: [key.publicKey], validate: (a) => ecosystems.validateLoading(a) }).then(() => undefined, (e: unknown) => e);
}

/** What minisign signs and checks in a .minisig: the signature bytes, the trusted comment (trailing whitespace trimmed), the global signature. */
function signedView(text: string): string[] | undefined {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (!lines[0]?.startsWith('untrusted comment: ') || !lines[2]?.startsWith('trusted comment: ')) return undefined;
  const b64 = (s: string | undefined) => (/^[A-Za-z0-9+/]+={0,2}$/.test(s?.trim() ?? '') ? Buffer.from(s!.trim(), 'base64').toString('hex') : undefined);
  return [b64(lines[1]) ?? 'bad', lines[2].replace(/\s+$/, ''), b64(lines[3]) ?? 'bad', String(lines.slice(4).join('').trim() === '')];
}

/** SHA256SUMS as the pairs it states (the ` ` / `*` text/binary mark is not part of a pair). */
function sumsView(text: string): string[] {
  return text.split('\n').filter(Boolean).map((l) => l.replace(/^([a-f0-9]{64}) [ *]/, '$1 ')).sort();
}

describe('seeded single-byte flips over a multi-part bundle', () => {
  it('the untouched bundle verifies, has several parts, and every region and part gets flips', async () => {
    expect(await verdict()).toBeUndefined();
    const parts = [...files.keys()].filter((f) => f.startsWith('part-'));
    expect(parts.length).toBeGreaterThanOrEqual(4);
    expect(flips.length).toBeGreaterThanOrEqual(300);
    expect(new Set(flips.filter((f) => f.file.startsWith('part-')).map((f) => f.file))).toEqual(new Set(parts));
  });

  it('every flip is refused with exit 3 (a part flip naming its part) or provably harmless', async () => {
    const harmless: Flip[] = [];
    for (const f of flips) {
      const original = files.get(f.file)![f.at];
      await poke(f.file, f.at, original ^ f.xor);
      let err: unknown;
      try {
        err = await verdict();
        if (err === undefined) {
          const changed = Buffer.from(files.get(f.file)!);
          changed[f.at] ^= f.xor;
          const why = `flip #${f.n} (${f.region}, ${f.file}@${f.at} ^0x${f.xor.toString(16)}) was accepted`;
          if (f.file === 'bundle.json.minisig') expect(signedView(changed.toString('utf8')), why).toEqual(signedView(files.get(f.file)!.toString('utf8')));
          else if (f.file === 'SHA256SUMS') expect(sumsView(changed.toString('utf8')), why).toEqual(sumsView(files.get(f.file)!.toString('utf8')));
          else expect.fail(why);
          await agreedByTheRealTools(f.file);
          harmless.push(f);
        }
      } finally {
        await poke(f.file, f.at, original);
      }
      if (err === undefined) continue;
      const what = `flip #${f.n} (${f.region}, ${f.file}@${f.at})`;
      expect(err, what).toBeInstanceOf(AirgapError);
      expect((err as AirgapError).exitCode, `${what}: ${(err as Error).message}`).toBe(3);
      if (f.file.startsWith('part-')) expect((err as Error).message, what).toContain(f.file);
    }
    // Only bytes minisign does not sign, or the checksum list's text/binary mark, can be harmless.
    expect(harmless.every((f) => f.region === 'minisig' || f.region === 'SHA256SUMS')).toBe(true);
    console.log(`${flips.length} flips: ${flips.length - harmless.length} refused (exit 3), ${harmless.length} harmless (${harmless.map((f) => `#${f.n} ${f.file}@${f.at}`).join(', ')})`);
    // The bundle was restored after each flip.
    expect(await verdict()).toBeUndefined();
  });

  it('through the CLI: a flip in bundle.json, the signature, SHA256SUMS and a tar header is exit 3; one in the untrusted comment is exit 0', async () => {
    const sig = files.get('bundle.json.minisig')!;
    const cases: [string, number, number][] = [
      ['bundle.json', 10, 3],
      ['bundle.json.minisig', sig.indexOf(0x0a) + 5, 3],
      ['SHA256SUMS', 3, 3],
      [flips.find((f) => f.region === 'header')!.file, flips.find((f) => f.region === 'header')!.at, 3],
      ['bundle.json.minisig', 'untrusted comment: '.length + 2, 0],
    ];
    for (const [file, at, code] of cases) {
      const original = files.get(file)![at];
      await poke(file, at, original ^ 0x01);
      try {
        const r = await runAirgap(['verify', dir, '--pub', pub]);
        expect(r.exitCode, `${file}@${at}: ${r.stderr}`).toBe(code);
      } finally {
        await poke(file, at, original);
      }
    }
  });
});

/** The changed file (still in place) is accepted by the tool that is not ours, too. */
async function agreedByTheRealTools(file: string): Promise<void> {
  if (file === 'bundle.json.minisig') {
    const r = await execa('minisign', ['-Vm', join(dir, 'bundle.json'), '-p', pub, '-x', join(dir, file)], { reject: false });
    expect(r.exitCode, `minisign -V: ${r.stderr}`).toBe(0);
  } else {
    const r = await execa('sha256sum', ['-c', '--quiet', file], { cwd: dir, reject: false });
    expect(r.exitCode, `sha256sum -c: ${r.stdout}${r.stderr}`).toBe(0);
  }
}
