import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import {
  type Artifact, type Descriptor, type SourceContext, type SourceHalf, IntegrityError, InternalError, UpstreamError, UsageError,
  digestHex, nearestText, sha256Digest,
} from '@airgap/core';
import { sourceClient } from './clients.js';
import {
  type IndexEntry, type Parsed, type Platform, OCI_INDEX, formatPlatform, isAttestationEntry, isIndexType, isManifestType,
  parseManifest, parsePlatform, plainDescriptor, platformMatches,
} from './media.js';
import { type ImageRef, formatRef, parseImageRef } from './reference.js';
import type { RegistryClient } from './registry.js';
import { listRepositories, listTags } from './tags-list.js';
import type { ImageSpec } from './spec.js';
import { readCosignKey, verifyCosign } from './cosign.js';
import { type TagSelection, checkTagSelection, describeSelection, selectTags } from './tag-select.js';

/** What the publish halves need about an image artifact, kept in `Artifact.meta` (and so in the signed index). */
export interface ImageMeta {
  /** Upstream registry and repository, for the target name (docs/config.md). */
  registry: string;
  repository: string;
  /** The tag to push; absent for an image pinned by digest only (pushed by digest). */
  tag?: string;
  /** The root digest upstream; differs from `Artifact.digest` when a platform filter made a new index. */
  upstreamDigest: string;
  filtered: boolean;
  /** Digests of every manifest/index blob, parents before children; publish pushes them in reverse. */
  manifests: string[];
  /** For signatures, attestations and SBOMs: the digest of the image they are attached to. */
  attachedTo?: string;
  /** The root's `org.opencontainers.image.licenses` annotation, if the image states one (docs/approval.md). */
  license?: string;
  /** With `verify.cosignKey`: what was checked (docs/oci.md "cosign"). */
  cosign?: string;
  /** With `repo` + `tags`: the rules that selected this tag (docs/manifest.md "images"). */
  selectedBy?: string;
}

async function putBytes(ctx: SourceContext, bytes: Buffer, desc: Descriptor, subject: string): Promise<void> {
  if (await ctx.store.has(desc.digest)) return;
  await ctx.store.put(Readable.from([bytes]), { digest: desc.digest, size: desc.size, subject }, desc.mediaType);
}

function parseOrFail(bytes: Buffer, contentType: string | undefined, label: string, digest: string): Parsed {
  try {
    return parseManifest(bytes, contentType);
  } catch (e) {
    throw new UpstreamError(`${label}: manifest ${digest}: ${(e as Error).message}`, { subject: label, cause: e });
  }
}

interface Graph {
  root: Descriptor;
  upstreamDigest: string;
  filtered: boolean;
  platform?: string;
  manifests: Descriptor[];
  blobs: Descriptor[];
  url: string;
  license?: string;
}

const LICENSES_ANNOTATION = 'org.opencontainers.image.licenses';

/**
 * Walk an image from its tag or digest: the root manifest or index, then (for an index) every child
 * manifest by digest, collecting configs and layers. Manifest bytes go into the store now (they are
 * metadata; `--dry-run` needs them too); layers are fetched by `fetch`.
 */
async function resolveGraph(client: RegistryClient, ref: ImageRef, ctx: SourceContext, opts: { platforms?: Platform[]; attestations?: boolean }): Promise<Graph> {
  const label = `image ${formatRef(ref)}`;
  const reference = ref.tag ?? ref.digest!;
  const root = await ctx.transfer.run(() => client.getManifest(ref.repository, reference, label));
  if (!root) {
    // A tag the registry does not have is the manifest's mistake (exit 2, docs/exit-codes.md).
    const tags = ref.tag ? await listTags(client, ref.repository).catch(() => [] as string[]) : [];
    // No tags at all: the repository itself is unknown; name the nearest ones the catalog lists.
    const near = tags.length ? nearestText(ref.tag!, tags, 'nearest tags') : nearestText(ref.repository, await listRepositories(client, ref.repository), 'nearest repositories');
    throw new UsageError(`${label}: not found (HTTP 404 for manifest ${reference})`, {
      subject: label,
      hint: `check the repository and tag in the manifest, and the registry credentials (some registries answer 404 when access is denied)${near}`,
    });
  }
  if (ref.digest && root.digest !== ref.digest) {
    throw new IntegrityError(`${label}: tag ${ref.tag} points to ${root.digest}, not the pinned ${ref.digest}`, {
      subject: label,
      hint: 'the tag moved upstream: pin the new digest only if you trust the new image',
    });
  }
  const parsed = parseOrFail(root.bytes, root.mediaType, label, root.digest);
  const upstreamRoot: Descriptor = { mediaType: parsed.mediaType, digest: root.digest, size: root.bytes.length };
  await putBytes(ctx, root.bytes, upstreamRoot, `${label}: manifest ${root.digest}`);

  const manifests: Descriptor[] = [];
  const blobs = new Map<string, Descriptor>();
  let rootDesc = upstreamRoot;
  let filtered = false;
  let platform: string | undefined;

  let children: IndexEntry[] = [];
  if (parsed.kind === 'index') {
    children = parsed.manifests;
    if (opts.platforms) {
      const kept = selectPlatforms(parsed.manifests, opts.platforms, Boolean(opts.attestations), label);
      platform = opts.platforms.map(formatPlatform).join(',');
      if (kept.length !== parsed.manifests.length) {
        // docs/design.md: per-platform manifests keep their digests; the tag points to a new index of the kept ones.
        const bytes = Buffer.from(JSON.stringify({ ...parsed.raw, manifests: kept }));
        rootDesc = { mediaType: parsed.mediaType, digest: sha256Digest(bytes), size: bytes.length };
        await putBytes(ctx, bytes, rootDesc, `${label}: filtered index`);
        filtered = true;
        children = kept;
      }
    }
  }
  manifests.push(rootDesc);
  if (parsed.kind === 'manifest') {
    for (const d of [parsed.config, ...parsed.layers]) blobs.set(d.digest, plainDescriptor(d));
    if (opts.platforms) platform = await checkSinglePlatform(client, ref, parsed.config, opts.platforms, ctx, label);
  }

  // Breadth-first over nested indexes; children of one level are fetched concurrently.
  let level = children;
  while (level.length) {
    const fetched: (Parsed | undefined)[] = new Array(level.length);
    await Promise.all(level.map(async (d, i) => {
      if (!isManifestType(d.mediaType)) {
        blobs.set(d.digest, plainDescriptor(d));
        return;
      }
      const m = await ctx.transfer.run(() => client.getManifest(ref.repository, d.digest, label));
      if (!m) throw new UpstreamError(`${label}: index names manifest ${d.digest}, which the registry does not have`, { subject: label });
      if (m.bytes.length !== d.size) throw new IntegrityError(`${label}: manifest ${d.digest} is ${m.bytes.length} bytes, the index says ${d.size}`, { subject: `${label} ${d.digest}` });
      fetched[i] = parseOrFail(m.bytes, d.mediaType, label, d.digest);
      await putBytes(ctx, m.bytes, plainDescriptor({ mediaType: d.mediaType, digest: d.digest, size: d.size }), `${label}: manifest ${d.digest}`);
    }));
    const next: IndexEntry[] = [];
    level.forEach((d, i) => {
      const p = fetched[i];
      if (!p) return;
      if (!manifests.some((m) => m.digest === d.digest)) manifests.push({ mediaType: d.mediaType, digest: d.digest, size: d.size });
      if (p.kind === 'index') next.push(...p.manifests);
      else for (const b of [p.config, ...p.layers]) blobs.set(b.digest, plainDescriptor(b));
    });
    level = next;
  }
  for (const m of manifests) blobs.delete(m.digest);
  const license = (parsed.kind === 'index' ? parsed.raw : (JSON.parse(root.bytes.toString('utf8')) as Record<string, unknown>)).annotations as Record<string, unknown> | undefined;
  const stated = typeof license?.[LICENSES_ANNOTATION] === 'string' ? (license[LICENSES_ANNOTATION] as string) : undefined;
  return { root: rootDesc, upstreamDigest: root.digest, filtered, platform, manifests, blobs: [...manifests, ...blobs.values()], url: root.url, ...(stated ? { license: stated } : {}) };
}

/**
 * For each wanted platform the first matching entry wins (image-spec index). BuildKit attestation
 * entries are dropped unless `attestations`, then kept only for the kept platforms. Order is the index's.
 */
export function selectPlatforms(entries: IndexEntry[], wanted: Platform[], attestations: boolean, label: string): IndexEntry[] {
  const keep = new Set<IndexEntry>();
  for (const w of wanted) {
    const hit = entries.find((e) => !isAttestationEntry(e) && platformMatches(w, e.platform));
    if (!hit) {
      const have = entries.filter((e) => !isAttestationEntry(e)).map((e) => formatPlatform(e.platform));
      throw new UpstreamError(`${label}: no ${formatPlatform(w)} image in the index (it has ${have.join(', ') || 'none'})`, {
        subject: label,
        hint: 'fix platforms: in the manifest',
      });
    }
    keep.add(hit);
  }
  if (attestations) {
    const kept = new Set([...keep].map((e) => e.digest));
    for (const e of entries) if (isAttestationEntry(e) && kept.has(e.annotations?.['vnd.docker.reference.digest'] ?? '')) keep.add(e);
  }
  return entries.filter((e) => keep.has(e));
}

async function checkSinglePlatform(client: RegistryClient, ref: ImageRef, config: Descriptor, wanted: Platform[], ctx: SourceContext, label: string): Promise<string> {
  if (!(await ctx.store.has(config.digest))) await fetchBlob(client, ref.repository, config, ctx, label);
  let cfg: { os?: string; architecture?: string; variant?: string };
  try {
    cfg = JSON.parse(await readFile(ctx.store.path(config.digest), 'utf8')) as typeof cfg;
  } catch (e) {
    throw new UpstreamError(`${label}: config ${config.digest} is not JSON`, { subject: label, cause: e });
  }
  const have: Platform = { os: cfg.os ?? '', architecture: cfg.architecture ?? '', variant: cfg.variant };
  if (!wanted.some((w) => platformMatches(w, have))) {
    throw new UpstreamError(`${label}: a single-platform image for ${formatPlatform(have)}, not ${wanted.map(formatPlatform).join(', ')}`, {
      subject: label,
      hint: 'fix platforms: in the manifest, or drop it for this image',
    });
  }
  return formatPlatform(have);
}

/**
 * One layer or config through the transfer engine (one limit, deduped across images, resumed with Range
 * when the connection breaks, sha256 checked while it streams); the registry client does the auth.
 */
async function fetchBlob(client: RegistryClient, repo: string, d: Descriptor, ctx: SourceContext, label: string): Promise<void> {
  const path = `${repo}/blobs/${d.digest}`;
  await ctx.transfer.fetch({
    url: client.url(path),
    digest: d.digest,
    size: d.size,
    mediaType: d.mediaType,
    subject: `${label}: blob ${d.digest}`,
    send: (headers) => client.request(repo, path, { headers }),
    statusHint: (status) => (status === 404 ? 'the registry does not have a blob its manifest names' : undefined),
  });
}

function makeArtifact(ref: ImageRef, g: Graph, extra: Partial<ImageMeta> = {}): Artifact {
  const name = `${ref.registry}/${ref.repository}`;
  const refName = ref.tag ? `${name}:${ref.tag}` : `${name}@${ref.digest}`;
  const meta: ImageMeta = {
    registry: ref.registry,
    repository: ref.repository,
    ...(ref.tag ? { tag: ref.tag } : {}),
    upstreamDigest: g.upstreamDigest,
    filtered: g.filtered,
    manifests: g.manifests.map((m) => m.digest),
    ...(g.license ? { license: g.license } : {}),
    ...extra,
  };
  const verified = [
    'manifest digest computed over the raw bytes',
    ref.digest ? 'equal to the pinned digest' : '',
    'every manifest, config and layer checked against its sha256 while streaming',
    g.filtered ? `index filtered to ${g.platform}: new index ${g.root.digest} of upstream ${g.upstreamDigest}` : '',
  ].filter(Boolean).join('; ');
  return {
    kind: 'image',
    name,
    version: ref.tag ?? ref.digest!,
    ...(g.platform ? { platform: g.platform } : {}),
    digest: g.root.digest,
    blobs: g.blobs,
    upstream: { url: g.url, integrity: { digest: g.upstreamDigest }, verified },
    oci: { root: g.root, refName },
    meta: meta as unknown as Record<string, unknown>,
  };
}

/** Cosign's legacy tag scheme for what is attached to `sha256:<hex>` (docs/reference/repo-formats.md §1 [COS]). */
const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'];

/**
 * Signatures, attestations and SBOMs attached to an image, each its own image artifact so it is
 * published (and recorded) like any other: referrers API (`/referrers/<digest>`; on 404 the
 * `sha256-<hex>` referrers tag index), plus cosign's `sha256-<hex>.sig/.att/.sbom` tags.
 */
async function resolveAttached(client: RegistryClient, ref: ImageRef, subject: string, ctx: SourceContext): Promise<Artifact[]> {
  const out: Artifact[] = [];
  const hex = digestHex(subject);
  const base = { registry: ref.registry, repository: ref.repository };
  // Every request is a transfer under the engine's one limit (docs/transfers.md).
  let doc: { manifests?: Descriptor[] } | undefined;
  try {
    doc = await ctx.transfer.run(async () => {
      const res = await client.request(ref.repository, `${ref.repository}/referrers/${subject}`, { headers: { accept: OCI_INDEX } });
      if (res.status !== 200) {
        await res.body.dump();
        return undefined;
      }
      try {
        return (await res.body.json()) as { manifests?: Descriptor[] };
      } catch {
        return {};
      }
    });
  } catch (e) {
    // A registry that guards unknown endpoints (401/403) just lacks the referrers API here.
    if (!(e instanceof UpstreamError)) throw e;
    ctx.log.debug(`${formatRef(ref)}: referrers API not usable (${(e as Error).message}); using the tag schemes`);
  }
  const has = (tag: string) => ctx.transfer.run(() => client.headManifest(ref.repository, tag));
  if (doc) {
    for (const d of doc.manifests ?? []) {
      if (!isManifestType(d.mediaType)) continue;
      const r: ImageRef = { ...base, digest: d.digest };
      out.push(makeArtifact(r, await resolveGraph(client, r, ctx, {}), { attachedTo: subject }));
    }
  } else {
    // Registries without the referrers API: the OCI 1.1 fallback tag holds an index of referrers.
    const tagRef: ImageRef = { ...base, tag: `sha256-${hex}` };
    if (await has(tagRef.tag!)) out.push(makeArtifact(tagRef, await resolveGraph(client, tagRef, ctx, {}), { attachedTo: subject }));
  }
  for (const suffix of COSIGN_SUFFIXES) {
    const r: ImageRef = { ...base, tag: `sha256-${hex}.${suffix}` };
    if (await has(r.tag!)) out.push(makeArtifact(r, await resolveGraph(client, r, ctx, {}), { attachedTo: subject }));
  }
  return out;
}

/**
 * `repo` + `tags` (docs/manifest.md "images"): the tags of `tags/list` (every page) that the rules select,
 * each resolved like `ref: repo:tag`. The selection is printed and kept in each artifact's `meta.selectedBy`.
 */
async function resolveSelected(spec: ImageSpec & { repo: string; tags: TagSelection }, ctx: SourceContext): Promise<Artifact[]> {
  const label = `image ${spec.repo}`;
  checkTagSelection(spec.tags, label);
  const base = parseImageRef(spec.repo);
  if (/[@]|:[^/]*$/.test(spec.repo.replace(/^[^/]*\//, ''))) {
    throw new UsageError(`${label}: repo names a tag or digest; give only [registry/]repository with tags:`, { subject: label, hint: 'move the tag into tags: (e.g. regex: "^1\\.27$"), or use ref: for one image' });
  }
  const client = sourceClient(base.registry, ctx);
  const all = await ctx.transfer.run(() => listTags(client, base.repository));
  const selected = selectTags(all, spec.tags, `image ${base.registry}/${base.repository}`);
  const rule = describeSelection(spec.tags);
  ctx.log.info(`image ${base.registry}/${base.repository}: tags ${rule} → ${selected.join(', ')} (of ${all.length} listed)`);
  const { repo: _repo, tags: _tags, ...rest } = spec;
  const out: Artifact[] = [];
  for (const tag of selected) {
    for (const a of await imageSource.resolve({ ...rest, ref: `${base.registry}/${base.repository}:${tag}` }, ctx)) {
      if (a.meta && !(a.meta as Partial<ImageMeta>).attachedTo) a.meta.selectedBy = rule;
      out.push(a);
    }
  }
  return out;
}

export const imageSource: SourceHalf<ImageSpec> = {
  async resolve(spec, ctx) {
    if (spec.repo !== undefined || spec.tags !== undefined) {
      if (spec.repo === undefined || spec.tags === undefined || spec.ref !== undefined) {
        throw new UsageError(`image entry ${spec.ref ?? spec.repo}: give either ref, or repo with tags`, { subject: spec.ref ?? spec.repo ?? 'images' });
      }
      return resolveSelected(spec as ImageSpec & { repo: string; tags: TagSelection }, ctx);
    }
    if (spec.ref === undefined) throw new UsageError('image entry: give either ref, or repo with tags', { subject: 'images' });
    const ref = parseImageRef(spec.ref);
    let platforms: Platform[] | undefined;
    try {
      platforms = spec.platforms?.map(parsePlatform);
    } catch (e) {
      throw new UsageError(`image ${spec.ref}: ${(e as Error).message}`, { subject: spec.ref, hint: 'write platforms as os/arch[/variant], e.g. linux/arm64' });
    }
    const verify = spec.verify ?? ctx.policy?.images?.verify;
    // Read the key before any request: a missing key file is the manifest's fault (exit 2).
    const key = verify ? await readCosignKey(verify.cosignKey, ctx.manifestDir) : undefined;
    const client = sourceClient(ref.registry, ctx);
    const main = makeArtifact(ref, await resolveGraph(client, ref, ctx, { platforms, attestations: spec.attestations }));
    const out = [main];
    const meta = main.meta as unknown as ImageMeta;
    // With verify the signature is always carried: the inside can check it again (docs/oci.md "cosign").
    if (spec.signatures !== false || key) {
      const attached = await resolveAttached(client, ref, meta.upstreamDigest, ctx);
      if (key) {
        const label = `image ${formatRef(ref)}`;
        meta.cosign = await verifyCosign(formatRef(ref), meta.upstreamDigest, attached, key, ctx, async (_sig, digest, size) => {
          if (size > 1 << 20) throw new UpstreamError(`${label}: cosign payload ${digest} is ${size} bytes; simple-signing payloads are small`, { subject: label });
          await fetchBlob(client, ref.repository, { mediaType: 'application/octet-stream', digest, size }, ctx, label);
          return readFile(ctx.store.path(digest));
        });
        main.upstream.verified += `; ${meta.cosign}`;
      }
      out.push(...attached);
    }
    return out;
  },

  async fetch(artifact, ctx) {
    const meta = artifact.meta as unknown as ImageMeta;
    const label = `image ${artifact.oci?.refName ?? artifact.name}`;
    const client = sourceClient(meta.registry, ctx);
    const missing: Descriptor[] = [];
    for (const b of artifact.blobs) if (!(await ctx.store.has(b.digest))) missing.push(b);
    await Promise.all(missing.map(async (d) => {
      if (!isManifestType(d.mediaType) && !isIndexType(d.mediaType)) return fetchBlob(client, meta.repository, d, ctx, label);
      if (d.digest === artifact.digest && meta.filtered) {
        throw new InternalError(`${label}: the filtered index ${d.digest} is no longer in the cache`, { hint: 'run pack again' });
      }
      const m = await ctx.transfer.run(() => client.getManifest(meta.repository, d.digest, label));
      if (!m) throw new UpstreamError(`${label}: manifest ${d.digest} is gone from the registry since it was resolved`, { subject: `${label} ${d.digest}` });
      await putBytes(ctx, m.bytes, d, `${label}: manifest ${d.digest}`);
    }));
  },
};
