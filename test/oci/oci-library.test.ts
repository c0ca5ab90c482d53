import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore, IntegrityError, TargetError, UpstreamError, UsageError, type Artifact } from '@airgap/core';
import { images, type ImageMeta } from '@airgap/oci';
import { tempDir } from '../harness/index.js';
import { ByteMeter } from '../../src/progress.js';
import {
  type RecordingProxy, type Registry, buildFixtureLayout, inspectRaw, manifestDigestInLayout, skopeoCopy, startRecordingProxy,
  startRegistry,
} from './registry-fixtures.js';
import { dirTarget, publishContext, pull, push, registryTarget, sourceContext } from './contexts.js';

let work: string;
let layout: string;
let src: Registry;
let dst: Registry;
let dstProxy: RecordingProxy;
let srcProxy: RecordingProxy;

beforeAll(async () => {
  work = await tempDir('airgap-oci-');
  layout = await buildFixtureLayout(join(work, 'fixture'));
  src = await startRegistry(join(work, 'src'));
  dst = await startRegistry(join(work, 'dst'));
  dstProxy = await startRecordingProxy(dst.host);
  srcProxy = await startRecordingProxy(src.host);
  await skopeoCopy(`oci:${layout}:multi`, `docker://${src.host}/team/multi:1`, ['--all']);
  await skopeoCopy(`oci:${layout}:amd64`, `docker://${src.host}/team/one:1`);
  await skopeoCopy(`oci:${layout}:app`, `docker://${src.host}/team/two:1`);
});

afterAll(async () => {
  await srcProxy?.stop();
  await dstProxy?.stop();
  await src?.stop();
  await dst?.stop();
});

function meta(a: Artifact): ImageMeta {
  return a.meta as unknown as ImageMeta;
}

describe('images: pull from a real docker-registry, push into another', () => {
  it('carries a multi-platform index byte-for-byte (same digests at the target as at the source)', async () => {
    const ctx = sourceContext(join(work, 'store-multi'));
    const arts = await pull(images, { ref: `${src.host}/team/multi:1` }, ctx);
    expect(arts).toHaveLength(1);
    const [a] = arts;
    const upstream = await inspectRaw(`docker://${src.host}/team/multi:1`);
    expect(a.digest).toBe(upstream.digest);
    expect(a.oci?.refName).toBe(`${src.host}/team/multi:1`);
    expect(a.name).toBe(`${src.host}/team/multi`);
    expect(a.platform).toBeUndefined();
    expect(meta(a).filtered).toBe(false);
    // index + 3 manifests + 3 configs + layers (busybox shared, arch file, provenance file)
    expect(meta(a).manifests).toHaveLength(4);
    for (const b of a.blobs) expect(await ctx.store.has(b.digest)).toBe(true);

    const pctx = publishContext(ctx.store, registryTarget(dstProxy.host));
    expect(await push(images.publish.endpoint!, [a], pctx)).toEqual(['pushed']);
    const targetRef = `docker://${dst.host}/127.0.0.1_${src.host.split(':')[1]}/team/multi:1`;
    const mirrored = await inspectRaw(targetRef);
    expect(mirrored.digest).toBe(upstream.digest);
    expect(mirrored.raw).toBe(upstream.raw);
    for (const tag of ['amd64', 'arm64']) {
      const d = await manifestDigestInLayout(layout, tag);
      expect((await inspectRaw(`${targetRef.replace(/:1$/, '')}@${d}`)).digest).toBe(d);
    }
    // Children went before the parent: the tag PUT is the last manifest request.
    const puts = dstProxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/manifests/'));
    expect(puts.at(-1)?.path).toMatch(/\/manifests\/1$/);
    expect(puts).toHaveLength(4);
    // A standard client reads the mirrored image.
    await skopeoCopy(targetRef, `oci:${join(work, 'copied')}:multi`, ['--all']);

    // Re-running: present, and not one blob or manifest is sent.
    const before = dstProxy.requests.length;
    expect(await push(images.publish.endpoint!, [a], pctx)).toEqual(['present']);
    const again = dstProxy.requests.slice(before);
    expect(again.length).toBeGreaterThan(0);
    expect(again.filter((r) => r.method === 'PUT' || r.method === 'POST' || r.method === 'PATCH')).toEqual([]);

    // A registry whose manifest HEADs fail with 500 (as Nexus 3.96.0 did): asked again with GET, still present.
    dstProxy.manifestHeadStatus = 500;
    try {
      const mark = dstProxy.requests.length;
      expect(await images.publish.endpoint!.exists(a, pctx)).toBe('present');
      expect(dstProxy.requests.slice(mark).some((r) => r.method === 'GET' && r.path.endsWith('/manifests/1'))).toBe(true);
    } finally {
      dstProxy.manifestHeadStatus = undefined;
    }
  });

  it('with platforms: [linux/arm64] keeps the arm64 manifest digest and pushes a new index listing only arm64', async () => {
    const ctx = sourceContext(join(work, 'store-arm'));
    const [a] = await pull(images, { ref: `${src.host}/team/multi:1`, platforms: ['linux/arm64'] }, ctx);
    const upstream = await inspectRaw(`docker://${src.host}/team/multi:1`);
    const armDigest = await manifestDigestInLayout(layout, 'arm64');
    expect(a.platform).toBe('linux/arm64');
    expect(meta(a).filtered).toBe(true);
    expect(meta(a).upstreamDigest).toBe(upstream.digest);
    expect(a.digest).not.toBe(upstream.digest);

    const pctx = publishContext(ctx.store, registryTarget(dst.host, { imageNames: 'strip-host' }));
    await push(images.publish.endpoint!, [a], pctx);
    const idx = await inspectRaw(`docker://${dst.host}/team/multi:1`);
    expect(idx.digest).toBe(a.digest);
    const doc = JSON.parse(idx.raw) as { manifests: { digest: string; platform: { architecture: string } }[] };
    expect(doc.manifests.map((m) => m.platform.architecture)).toEqual(['arm64']);
    expect(doc.manifests[0].digest).toBe(armDigest);
    expect((await inspectRaw(`docker://${dst.host}/team/multi@${armDigest}`)).digest).toBe(armDigest);
  });

  it('keeps the BuildKit attestation entry of a kept platform only when attestations: true', async () => {
    const ctx = sourceContext(join(work, 'store-att'));
    const [a] = await pull(images, { ref: `${src.host}/team/multi:1`, platforms: ['linux/arm64'], attestations: true }, ctx);
    const doc = JSON.parse(await readFile(ctx.store.path(a.digest), 'utf8')) as { manifests: { platform: { architecture: string } }[] };
    expect(doc.manifests.map((m) => m.platform.architecture)).toEqual(['arm64', 'unknown']);
    const [b] = await pull(images, { ref: `${src.host}/team/multi:1`, platforms: ['linux/amd64'], attestations: true }, ctx);
    const docB = JSON.parse(await readFile(ctx.store.path(b.digest), 'utf8')) as { manifests: { platform: { architecture: string } }[] };
    expect(docB.manifests.map((m) => m.platform.architecture)).toEqual(['amd64']);
  });

  it('fails for a platform the index does not have, naming the image and what it has', async () => {
    const ctx = sourceContext(join(work, 'store-bad-platform'));
    const err = await images.source.resolve({ ref: `${src.host}/team/multi:1`, platforms: ['linux/s390x'] }, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.message).toContain(`image ${src.host}/team/multi:1`);
    expect(err.message).toContain('linux/s390x');
    expect(err.message).toContain('linux/arm64/v8');
  });

  it('pins by digest: a matching ref@sha256 resolves, a wrong one fails with exit 3 naming the image', async () => {
    const ctx = sourceContext(join(work, 'store-pin'));
    const upstream = await inspectRaw(`docker://${src.host}/team/one:1`);
    const [ok] = await images.source.resolve({ ref: `${src.host}/team/one:1@${upstream.digest}` }, ctx);
    expect(ok.digest).toBe(upstream.digest);
    expect(ok.version).toBe('1');
    const [byDigest] = await images.source.resolve({ ref: `${src.host}/team/one@${upstream.digest}` }, ctx);
    expect(byDigest.version).toBe(upstream.digest);
    expect(byDigest.oci?.refName).toBe(`${src.host}/team/one@${upstream.digest}`);

    const wrong = 'sha256:' + '0'.repeat(64);
    const err = await images.source.resolve({ ref: `${src.host}/team/one:1@${wrong}` }, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain(`image ${src.host}/team/one:1@${wrong}`);
    expect(err.message).toContain(upstream.digest);
  });

  it('fails the pull when the registry serves wrong bytes for a layer, naming the image and the digest', async () => {
    const ctx = sourceContext(join(work, 'store-tamper'));
    const [a] = await images.source.resolve({ ref: `${srcProxy.host}/team/two:1` }, ctx);
    const layer = a.blobs.find((b) => b.mediaType.includes('layer'))!;
    srcProxy.tamper.add(layer.digest);
    try {
      const err = await images.source.fetch(a, ctx).catch((e) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect(err.message).toContain(`image ${srcProxy.host}/team/two:1`);
      expect(err.message).toContain(layer.digest);
      expect(await ctx.store.has(layer.digest)).toBe(false);
    } finally {
      srcProxy.tamper.clear();
    }
  });

  it('fails for an image that does not exist, naming it', async () => {
    const ctx = sourceContext(join(work, 'store-404'));
    const err = await images.source.resolve({ ref: `${src.host}/team/nope:1` }, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`image ${src.host}/team/nope:1`);
    // A tag the repository does not have: the nearest tags it does have (from tags/list).
    const tag = await images.source.resolve({ ref: `${src.host}/team/multi:2` }, sourceContext(join(work, 'store-404-tag'))).catch((e) => e);
    expect(tag).toBeInstanceOf(UsageError);
    expect(tag.hint).toContain('nearest tags: 1');
  });

  it('honours 429 with Retry-After on manifests and blobs', async () => {
    const ctx = sourceContext(join(work, 'store-429'));
    srcProxy.throttle = { pattern: /\/v2\/team\/one\/(manifests|blobs)\//, times: 2 };
    const start = srcProxy.requests.length;
    const [a] = await pull(images, { ref: `${srcProxy.host}/team/one:1` }, ctx);
    expect(srcProxy.throttle.times).toBe(0);
    for (const b of a.blobs) expect(await ctx.store.has(b.digest)).toBe(true);
    const seen = srcProxy.requests.slice(start).filter((r) => r.path.includes('/team/one/manifests/1'));
    expect(seen.length).toBeGreaterThanOrEqual(2);
    srcProxy.throttle = undefined;
  });

  it('publishes two images sharing a layer: both arrive intact, the layer sent once per repository (no mount)', async () => {
    const ctx = sourceContext(join(work, 'store-shared'));
    const one = await pull(images, { ref: `${src.host}/team/one:1` }, ctx);
    const two = await pull(images, { ref: `${src.host}/team/two:1` }, ctx);
    const shared = one[0].blobs.filter((b) => two[0].blobs.some((c) => c.digest === b.digest) && b.mediaType.includes('layer'));
    expect(shared).toHaveLength(1);
    // The bytes the unpack's progress shows (docs/transfers.md): each blob sent counts once.
    const meter = new ByteMeter();
    const pctx = publishContext(ctx.store, registryTarget(dstProxy.host, { imageNames: 'strip-host' }), {}, {}, (e) => meter.feed(e));
    const start = dstProxy.requests.length;
    await push(images.publish.endpoint!, [...one, ...two], pctx);
    // Different repositories: without cross-repo mount (Nexus lacks it) the shared layer is sent to each.
    const puts = dstProxy.requests.slice(start).filter((r) => r.method === 'PUT' && r.path.includes(`digest=${encodeURIComponent(shared[0].digest)}`));
    expect(puts).toHaveLength(2);
    const sent = [...one, ...two].flatMap((a) => a.blobs.filter((b) => !meta(a).manifests.includes(b.digest)));
    expect(meter.done).toBe(sent.reduce((n, b) => n + b.size, 0));
    for (const t of ['one', 'two']) {
      expect((await inspectRaw(`docker://${dst.host}/team/${t}:1`)).digest).toBe((await inspectRaw(`docker://${src.host}/team/${t}:1`)).digest);
    }
  });

  it('a failed blob PUT starts a new upload session and the push completes', async () => {
    const ctx = sourceContext(join(work, 'store-put-retry'));
    const arts = await pull(images, { ref: `${src.host}/team/two:1` }, ctx);
    const pctx = publishContext(ctx.store, registryTarget(dstProxy.host, { imageNames: 'strip-host' }));
    const repo = `/v2/retry/team/two/`;
    const target = { ...arts[0], meta: { ...arts[0].meta, repository: 'retry/team/two' } };
    dstProxy.throttle = { pattern: /\/v2\/retry\/team\/two\/blobs\/uploads\/.+digest=/, times: 1 };
    const mark = dstProxy.requests.length;
    try {
      expect(await push(images.publish.endpoint!, [target], pctx)).toEqual(['pushed']);
    } finally {
      dstProxy.throttle = undefined;
    }
    const posts = dstProxy.requests.slice(mark).filter((r) => r.method === 'POST' && r.path.startsWith(repo));
    const blobsToSend = arts[0].blobs.filter((b) => !b.mediaType.includes('manifest')).length;
    expect(posts).toHaveLength(blobsToSend + 1);
    expect((await inspectRaw(`docker://${dst.host}/retry/team/two:1`)).digest).toBe(arts[0].digest);
  });

  it('two images sharing a layer, fetched at the same time, download it once', async () => {
    const ctx = sourceContext(join(work, 'store-concurrent'));
    const [one] = await images.source.resolve({ ref: `${srcProxy.host}/team/one:1` }, ctx);
    const [two] = await images.source.resolve({ ref: `${srcProxy.host}/team/two:1` }, ctx);
    const shared = one.blobs.find((b) => b.mediaType.includes('layer') && two.blobs.some((c) => c.digest === b.digest))!;
    const mark = srcProxy.requests.length;
    await Promise.all([images.source.fetch(one, ctx), images.source.fetch(two, ctx)]);
    const gets = srcProxy.requests.slice(mark).filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${shared.digest}`));
    expect(gets).toHaveLength(1);
    for (const b of [...one.blobs, ...two.blobs]) expect(await ctx.store.has(b.digest)).toBe(true);
  });

  it('writes an OCI layout into a dir target that skopeo reads, and finds it present on a re-run', async () => {
    const ctx = sourceContext(join(work, 'store-dir'));
    const arts = [...(await pull(images, { ref: `${src.host}/team/multi:1` }, ctx)), ...(await pull(images, { ref: `${src.host}/team/one:1` }, ctx))];
    const mirror = join(work, 'mirror');
    const pctx = publishContext(ctx.store, dirTarget(mirror));
    expect(await push(images.publish.dir, arts, pctx)).toEqual(['pushed', 'pushed']);
    const layoutDir = join(mirror, 'oci');
    const read = await inspectRaw(`oci:${layoutDir}:${src.host}/team/multi:1`);
    expect(read.digest).toBe(arts[0].digest);
    await skopeoCopy(`oci:${layoutDir}:${src.host}/team/one:1`, `oci:${join(work, 'from-mirror')}:one`);
    const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name'])).toEqual([`${src.host}/team/multi:1`, `${src.host}/team/one:1`]);
    expect(await push(images.publish.dir, arts, pctx)).toEqual(['present', 'present']);
  });

  it('carries what is attached under the referrers tag sha256-<hex> and cosign\'s sha256-<hex>.sig tag', async () => {
    const upstream = await inspectRaw(`docker://${src.host}/team/two:1`);
    const sigTag = `sha256-${upstream.digest.slice(7)}.sig`;
    // The signature image is a real image at the cosign tag (a signature is an OCI manifest like any other).
    await skopeoCopy(`oci:${layout}:att`, `docker://${src.host}/team/two:${sigTag}`);
    // docker-registry 2.8 has no referrers API (404): the OCI 1.1 referrers tag `sha256-<hex>` is used instead.
    const referrersTag = `sha256-${upstream.digest.slice(7)}`;
    await skopeoCopy(`oci:${layout}:multi`, `docker://${src.host}/team/two:${referrersTag}`, ['--all']);
    const ctx = sourceContext(join(work, 'store-sig'));
    const arts = await pull(images, { ref: `${src.host}/team/two:1` }, ctx);
    expect(arts.map((a) => a.version)).toEqual(['1', referrersTag, sigTag]);
    expect(meta(arts[1]).attachedTo).toBe(upstream.digest);
    expect(meta(arts[2]).attachedTo).toBe(upstream.digest);
    const none = await images.source.resolve({ ref: `${src.host}/team/two:1`, signatures: false }, ctx);
    expect(none).toHaveLength(1);
    const pctx = publishContext(ctx.store, registryTarget(dst.host));
    await push(images.publish.endpoint!, arts, pctx);
    const hostSeg = `127.0.0.1_${src.host.split(':')[1]}`;
    expect((await inspectRaw(`docker://${dst.host}/${hostSeg}/team/two:${sigTag}`)).digest).toBe((await inspectRaw(`docker://${src.host}/team/two:${sigTag}`)).digest);
  });

  it('warns and moves a tag that points elsewhere at the target', async () => {
    const ctx = sourceContext(join(work, 'store-move'));
    const one = await pull(images, { ref: `${src.host}/team/one:1` }, ctx);
    const pctx2 = publishContext(ctx.store, registryTarget(dst.host, { imageNames: 'strip-host' }));
    await skopeoCopy(`oci:${layout}:app`, `docker://${dst.host}/team/one:1`);
    expect(await images.publish.endpoint!.exists(one[0], pctx2)).toBe('absent');
    expect(pctx2.warnings.join('\n')).toContain('it will be moved to ' + one[0].digest);
    await images.publish.endpoint!.publish(one[0], pctx2);
    expect((await inspectRaw(`docker://${dst.host}/team/one:1`)).digest).toBe(one[0].digest);
  });
});

describe('images: transport rules', () => {
  it('refuses a plain-HTTP docker endpoint on a non-loopback host unless plainHttp is set', async () => {
    const store = new ContentStore(join(work, 'store-plain'));
    const a = { kind: 'image', name: 'x', version: '1', digest: 'sha256:' + 'a'.repeat(64), blobs: [], upstream: { url: '', verified: '' }, meta: { registry: 'docker.io', repository: 'library/x', tag: '1', manifests: [], upstreamDigest: '', filtered: false } } as unknown as Artifact;
    // The target's endpoints refuse it when they are built (as unpack does when it opens the target), before any request.
    const err = await (async () => images.publish.endpoint!.exists(a, publishContext(store, { type: 'registries', name: 'reg', config: { type: 'registries', endpoints: { docker: 'http://registry.corp.invalid/' } } })))().catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('targets.reg.endpoints.docker');
    expect(err.message).toContain('plain HTTP to registry.corp.invalid is refused');
    // Marked plainHttp: the rule lets it through (the request then fails on the unknown host: a TargetError).
    const ok = publishContext(store, { type: 'registries', name: 'reg2', config: { type: 'registries', endpoints: { docker: 'http://registry.corp.invalid/' } } }, { registries: { 'registry.corp.invalid': { plainHttp: true } } });
    const err2 = await images.publish.endpoint!.exists(a, ok).catch((e) => e);
    expect(err2).toBeInstanceOf(TargetError);
  });
});

