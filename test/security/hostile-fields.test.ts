import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Artifact, HttpClient, IntegrityError, type PublishContext } from '@airgap/core';
import { type SecretKey, verifyBundle } from '@airgap/bundle';
import { ecosystems } from '../../src/ecosystems.js';
import { tempDir } from '../harness/index.js';
import { type Forged, MULTILINE, PATH_FIELDS, bend, display, escapeRe, forgeBundle, goodArtifacts, signingKey, snapshot, stringPaths } from './forge.js';

/**
 * docs/security.md "Index semantics": hostile values in every string field of every ecosystem's
 * artifact. Each is refused by the ecosystem's validate, at verify time, naming the field; the fields
 * that become paths refuse traversal too (checked on real signed bundles); and, validation bypassed,
 * every dir publisher still writes nothing outside the mirror (the confined root).
 */
const good = goodArtifacts({ optional: true });
const kinds = Object.keys(good);

const LONG = 'x'.repeat((1 << 20) + 1);
const TRAVERSAL = ['../../../../sentinel/x', '/etc/x', 'ok/../../../x', '..', 'a\\..\\b'];

function refusedNaming(a: Artifact, field: string): void {
  let err: unknown;
  try {
    ecosystems.validate(a);
  } catch (e) {
    err = e;
  }
  expect(err, `${a.kind} ${field}`).toBeInstanceOf(IntegrityError);
  expect((err as Error).message, `${a.kind} ${field}`).toMatch(new RegExp(`: ${escapeRe(field)}(?![\\w.[])`));
}

beforeAll(() => ecosystems.load('all'));

describe('every ecosystem validates its artifacts (packages/*/src/validate.ts)', () => {
  it('the well-formed artifacts of every kind pass, with and without their optional fields', () => {
    for (const k of kinds) expect(() => ecosystems.validate(good[k]().artifact), k).not.toThrow();
    for (const k of kinds) expect(() => ecosystems.validate(goodArtifacts()[k]().artifact), k).not.toThrow();
    expect(kinds.sort()).toEqual(ecosystems.all().map((e) => e.kind).sort());
  });

  it('a control character, an escape sequence or an over-long value in any string field is refused, naming it', () => {
    let cases = 0;
    for (const k of kinds) {
      const a = good[k]().artifact;
      const paths = stringPaths(a).filter((p) => !/^blobs\.0\.digest$|^digest$|^oci\.root\.digest$|^meta\.(manifests\.\d+|upstreamDigest)$/.test(p));
      expect(paths.length, k).toBeGreaterThan(4);
      for (const p of paths) {
        const values = ['a\u0000b', 'a\u001b[2Jb', LONG, ...(MULTILINE.test(p) ? [] : ['a\nb', 'a\rb', 'a\u2028b'])];
        for (const v of values) {
          refusedNaming(bend(a, p, v), display(p));
          cases++;
        }
      }
    }
    expect(cases).toBeGreaterThan(300);
  });

  it('traversal and absolute paths in every field that becomes a path are refused, naming it', () => {
    for (const k of kinds) {
      for (const p of PATH_FIELDS[k]) for (const v of TRAVERSAL) refusedNaming(bend(good[k]().artifact, p, v), display(p));
    }
  });

  it('digests must be derived from the blobs, and an unknown kind is refused', () => {
    const f = good.file().artifact;
    refusedNaming(bend(f, 'digest', 'sha256:' + '0'.repeat(64)), 'digest');
    refusedNaming(bend(f, 'blobs', []), 'blobs');
    refusedNaming(bend(f, 'kind', 'tarball'), 'kind');
    const img = good.image().artifact;
    refusedNaming(bend(img, 'oci.root.digest', 'sha256:' + '1'.repeat(64)), 'oci.root.digest');
    refusedNaming(bend(img, 'meta.manifests', ['sha256:' + '2'.repeat(64)]), 'meta.manifests[0]');
  });
});

describe('at verify time, on real signed bundles', () => {
  let root: string;
  let key: SecretKey;
  beforeAll(async () => {
    root = await tempDir('airgap-sec-fields-');
    ({ key } = await signingKey(join(root, 'keys')));
  });

  it('a traversal in each path field of each ecosystem fails verifyBundle (exit 3) naming the artifact and field', async () => {
    for (const k of kinds) {
      for (const p of PATH_FIELDS[k]) {
        const item = good[k]();
        const dir = await forgeBundle(join(root, `${k}-${p}`), key, [{ ...item, artifact: bend(item.artifact, p, '../../../../sentinel/x') }]);
        const err = await verifyBundle(dir, { trust: [key.publicKey], validate: (a) => ecosystems.validateLoading(a) }).then(() => undefined, (e: unknown) => e);
        expect(err, `${k} ${p}`).toBeInstanceOf(IntegrityError);
        expect((err as IntegrityError).exitCode).toBe(3);
        expect((err as Error).message).toMatch(new RegExp(`^bundle index: ${k} .*: ${escapeRe(display(p))}(?![\\w.[])`));
      }
    }
  });
});

describe('defence in depth: dir publishers with validation bypassed write nothing outside the mirror', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir('airgap-sec-publish-');
  });

  function context(mirror: string, items: Forged[]): PublishContext {
    const bytes = new Map<string, Buffer>();
    for (const i of items) for (const [d, b] of i.bytes) bytes.set(d, b);
    const log = { info: () => {}, warn: () => {}, debug: () => {} };
    return {
      target: { type: 'dir', name: `dir:${mirror}`, path: mirror, config: { type: 'dir', path: mirror } },
      blobs: { open: (d) => Readable.from([bytes.get(d.digest) ?? Buffer.alloc(0)]) },
      http: new HttpClient({}, log), config: {}, log, progress: () => {},
      bundle: { name: 'forged', created: new Date().toISOString() }, dryRun: false, services: {},
    };
  }

  async function publishAll(kind: string, items: Forged[], ctx: PublishContext): Promise<void> {
    const half = ecosystems.get(kind as Artifact['kind']).publish.dir;
    for (const i of items) {
      await half.exists(i.artifact, ctx).catch(() => 'absent');
      await half.publish(i.artifact, ctx).catch(() => undefined);
    }
    await half.finalize?.(items.map((i) => i.artifact), ctx).catch(() => undefined);
  }

  /**
   * `base/l1/l2/l3/l4/m` is the mirror, with a `sentinel` folder at every level above it: any of the
   * traversals (at most four `..` from anywhere in the mirror) stays below base, so a snapshot of base
   * without the mirror shows every write outside it.
   */
  const MIRROR = 'l1/l2/l3/l4/m';
  async function sentinelTree(base: string): Promise<Map<string, string>> {
    for (const level of ['', 'l1', 'l1/l2', 'l1/l2/l3', 'l1/l2/l3/l4']) {
      const dir = join(base, level, 'sentinel');
      await mkdir(join(dir, 'sub'), { recursive: true });
      for (const f of ['x', 'Release', 'InRelease', 'sub/Packages', 'index.json', 'index.yaml']) await writeFile(join(dir, f), `keep ${f}\n`);
    }
    return outsideMirror(base);
  }
  async function outsideMirror(base: string): Promise<Map<string, string>> {
    return new Map([...(await snapshot(base))].filter(([p]) => !p.startsWith(MIRROR + '/')));
  }

  it('hostile path values reach each publisher: nothing outside changes', async () => {
    for (const k of kinds) {
      for (const p of PATH_FIELDS[k]) {
        for (const v of TRAVERSAL) {
          const base = join(root, `h-${k}-${p}-${TRAVERSAL.indexOf(v)}`);
          const before = await sentinelTree(base);
          const item = good[k]();
          const items = [{ ...item, artifact: bend(item.artifact, p, v) }];
          await publishAll(k, items, context(join(base, MIRROR), items));
          expect(await outsideMirror(base), `${k} ${p}=${v}`).toEqual(before);
          await expect(readdir('/etc/x')).rejects.toThrow();
        }
      }
    }
  });

  it('a symlink inside the mirror pointing outside is never written through, for every publisher', async () => {
    for (const k of kinds) {
      const base = join(root, `s-${k}`);
      const before = await sentinelTree(base);
      const mirror = join(base, MIRROR);
      await mkdir(mirror, { recursive: true });
      const folder = { file: 'files', apt: 'apt', yum: 'yum', pypi: 'pypi', npm: 'npm', chart: 'helm', image: 'oci' }[k]!;
      await symlink(join(base, 'l1', 'sentinel'), join(mirror, folder));
      const items = [good[k]()];
      const half = ecosystems.get(k as Artifact['kind']).publish.dir;
      const ctx = context(mirror, items);
      await expect(half.publish(items[0].artifact, ctx), k).rejects.toThrow(/outside the mirror/);
      await half.finalize?.(items.map((i) => i.artifact), ctx).catch(() => undefined);
      expect(await outsideMirror(base), k).toEqual(before);
    }
  });
});
