import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, IntegrityError } from '@airgap/core';
import type { PublicKey, SecretKey } from '@airgap/bundle';
import { Reporter } from '../../src/report.js';
import { unpack } from '../../src/unpack.js';
import { ecosystems } from '../../src/ecosystems.js';
import { tempDir } from '../harness/index.js';
import { MULTILINE, PATH_FIELDS, bend, display, escapeRe, forgeBundle, goodArtifacts, signingKey, snapshot, stringPaths } from './forge.js';

/**
 * docs/security.md "Index semantics", end to end: for EVERY string field of every ecosystem's artifact
 * (optional fields included), a validly signed bundle holding that artifact with one hostile value —
 * a traversal where the field becomes a path, else a line break (or, in free text, an escape sequence
 * and a NUL) — next to a good file. Each is refused by unpack's verification (exit 3, naming the
 * artifact and the field) before anything is published: the mirror stays empty, no push is recorded,
 * and a sentinel tree around the mirror is byte-for-byte the same. The unpack runs in-process (the
 * same function the CLI calls), so the ~100 bundles stay fast.
 */
const good = goodArtifacts({ optional: true });
const DIGESTS = /^(blobs\.\d+\.digest|digest|oci\.root\.digest|meta\.(manifests\.\d+|upstreamDigest|attachedTo))$/;
let root: string;
let key: SecretKey;
let pub: PublicKey;
let base: string;
let before: Map<string, string>;

beforeAll(async () => {
  root = await tempDir('airgap-sec-verify-');
  ({ key } = await signingKey(join(root, 'keys')));
  pub = key.publicKey;
  await ecosystems.load('all');
  // base/sentinel/… beside base/l1/l2/mirrors/<case>: any traversal of up to four `..` lands in base.
  base = join(root, 'base');
  for (const d of ['sentinel', 'l1/sentinel', 'l1/l2/sentinel']) {
    await mkdir(join(base, d, 'sub'), { recursive: true });
    for (const f of ['x', 'Release', 'index.json', 'sub/Packages']) await writeFile(join(base, d, f), `keep ${f}\n`);
  }
  before = await snapshot(base);
});

function hostileValue(path: string, kind: string): string {
  if (PATH_FIELDS[kind]?.includes(path)) return '../../../../sentinel/x';
  return MULTILINE.test(path) ? 'a\u001b[2J\u0000b' : 'ok\nInjected: line';
}

describe('a hostile value in any string field is refused at verify, nothing published', () => {
  it('every string field of every ecosystem: exit 3 naming the artifact and field; mirror empty, sentinel tree untouched', async () => {
    let cases = 0;
    const reporter = new Reporter('json');
    for (const kind of Object.keys(good)) {
      const fields = stringPaths(good[kind]().artifact).filter((p) => !DIGESTS.test(p));
      for (const path of fields) {
        const item = good[kind]();
        const value = hostileValue(path, kind);
        const name = `${kind}-${cases++}`;
        const dir = await forgeBundle(join(root, 'bundles', name), key, [{ ...item, artifact: bend(item.artifact, path, value) }, goodArtifacts().file()], { name });
        const mirror = join(base, 'l1', 'l2', 'mirrors', name);
        const ledger = join(root, 'ledgers', `${name}.jsonl`);
        const err = await unpack({
          bundleDir: dir, to: `dir:${mirror}`, trust: [pub], insecureSkipSignature: false, ledgerPath: ledger,
          dryRun: false, concurrency: 2, config: {}, http: new HttpClient({}, reporter), reporter,
        }).then(() => undefined, (e: unknown) => e);
        const what = `${kind} ${path}=${JSON.stringify(value)}`;
        expect(err, what).toBeInstanceOf(IntegrityError);
        expect((err as IntegrityError).exitCode, what).toBe(3);
        if (path === 'kind') {
          // The writer lists the kinds in the signed bundle.json, which refuses it first (quoted, not echoed raw).
          expect((err as Error).message, what).toMatch(/bundle\.json is malformed: kinds: "ok\\nInjected: line" must be an artifact kind/);
        } else expect((err as Error).message, what).toMatch(new RegExp(`^bundle index: ${kind} .*: ${escapeRe(display(path))}(?![\\w.[])`));
        expect((err as Error).message, what).not.toContain('\nInjected');
        expect(await snapshot(mirror).catch(() => new Map()), what).toEqual(new Map());
        const records = (await readFile(ledger, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
        expect(records.filter((r) => r.action === 'pushed'), what).toEqual([]);
      }
    }
    const after = new Map([...(await snapshot(base))].filter(([p]) => !p.startsWith('l1/l2/mirrors/')));
    expect(after).toEqual(before);
    expect(cases).toBeGreaterThan(80);
  });

  it('the same bundles with the good values unpack (the refusals are the hostile values, not the forging)', async () => {
    const reporter = new Reporter('json');
    const dir = await forgeBundle(join(root, 'bundles', 'good'), key, Object.values(good).map((f) => f()), { name: 'good' });
    const mirror = join(base, 'l1', 'l2', 'mirrors', 'good');
    const r = await unpack({
      bundleDir: dir, to: `dir:${mirror}`, trust: [pub], insecureSkipSignature: false, ledgerPath: join(root, 'ledgers', 'good.jsonl'),
      dryRun: false, concurrency: 2, config: {}, http: new HttpClient({}, reporter), reporter,
    });
    expect(r.failures).toEqual([]);
    expect(r.counts.pushed).toBe(Object.keys(good).length);
  });
});
