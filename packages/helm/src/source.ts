import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import {
  type Artifact, type Descriptor, type ErrorDetails, AirgapError, PartialError, type SourceContext, type SourceHalf, IntegrityError, TrustError, UpstreamError, UsageError,
  failStatus, header, isDigest, safeUrl, verifyClearsigned,
} from '@airgap/core';
import { readChartArchive } from './chart-archive.js';
import { type FoundImage, chartImages, repositoryOf } from './chart-images.js';
import { type IndexEntry, pickVersion, repoIndex, resolveChartUrl } from './repo-index.js';
import { type ChartSpec, type HttpChartSpec, type OciChartSpec, isOciSpec } from './spec.js';
import { chartFileName } from './chart-file.js';

/** Helm's media types (docs/reference/repo-formats.md §2), also used for the blobs of HTTP charts in the bundle. */
export const CHART_MEDIA_TYPE = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
export const PROV_MEDIA_TYPE = 'application/vnd.cncf.helm.chart.provenance.v1.prov';

/** What the publish halves need of a chart of an HTTP repository (in the signed bundle index). */
export interface ChartMeta {
  source: 'http';
  /** `<name>-<version>.tgz`, the file name in a mirror. */
  file: string;
  /** Where the .tgz came from (credentials never included). */
  url: string;
  /** Whether blobs[1] is the `.prov` provenance file. */
  prov: boolean;
  /** The index.yaml entry without `urls`/`digest` (the Chart.yaml fields, `created`): regenerates an index. */
  entry: Record<string, unknown>;
  /** Names of the environment variables with the repository's credentials (never their values). */
  auth?: { usernameEnv?: string; passwordEnv?: string };
  /** The images found in the chart when `images: true`, with where each was found. */
  images?: FoundImage[];
}

/**
 * The fields of an index entry kept for regenerating an index: Chart.yaml's metadata plus `created`
 * and `removed`. Helm loads an index strictly — an unknown field fails the whole load (docs/reference/repo-formats.md §2) —
 * so nothing else an upstream generator added is carried into the mirror's index.
 */
export const CHART_VERSION_FIELDS = new Set([
  'apiVersion', 'name', 'version', 'kubeVersion', 'description', 'type', 'keywords', 'home', 'sources', 'dependencies',
  'maintainers', 'icon', 'appVersion', 'deprecated', 'annotations', 'condition', 'tags', 'created', 'removed',
]);

interface CacheRecord {
  digest: string;
  size: number;
  prov: Descriptor | null;
}

function credentials(spec: { usernameEnv?: string; passwordEnv?: string }, label: string): Record<string, string> {
  if (!spec.usernameEnv && !spec.passwordEnv) return {};
  const user = spec.usernameEnv ? process.env[spec.usernameEnv] : '';
  const pass = spec.passwordEnv ? process.env[spec.passwordEnv] : '';
  const unset = [spec.usernameEnv && user === undefined ? spec.usernameEnv : '', spec.passwordEnv && pass === undefined ? spec.passwordEnv : ''].filter(Boolean);
  if (unset.length) throw new UsageError(`${label}: environment variable ${unset.join(' and ')} is not set`, { subject: label, hint: `export ${unset.join(' and ')} with the repository credentials` });
  return { authorization: 'Basic ' + Buffer.from(`${user ?? ''}:${pass ?? ''}`).toString('base64') };
}

/** The index's `digest` is the sha256 hex of the .tgz; some generators prefix `sha256:`. */
function indexDigest(entry: IndexEntry): string | undefined {
  if (typeof entry.digest !== 'string') return undefined;
  const d = entry.digest.trim().toLowerCase();
  const full = d.startsWith('sha256:') ? d : 'sha256:' + d;
  return isDigest(full) ? full : undefined;
}

/** Credentials go only to the repository's own host (Helm's default without --pass-credentials). */
function headersFor(url: URL, repo: string, headers: Record<string, string>): Record<string, string> {
  return url.host === new URL(repo).host ? headers : {};
}

/** The .tgz through the transfer engine (docs/transfers.md): one limit, resumed on a cut, the index digest checked while it streams. */
async function download(ctx: SourceContext, url: URL, headers: Record<string, string>, expected: string | undefined, label: string, mediaType: string): Promise<Descriptor> {
  try {
    const d = await ctx.transfer.fetch({
      url, headers, digest: expected, mediaType, subject: `${label} (${safeUrl(url)})`,
      statusHint: (status) => (status === 404 ? `the repository index lists ${label} but the file is missing upstream` : undefined),
    });
    return { mediaType, digest: d!.digest, size: d!.size };
  } catch (e) {
    if (e instanceof IntegrityError) {
      throw new IntegrityError(`${label}: ${safeUrl(url)} does not match the digest in the repository index: ${e.message.replace(/^.*digest mismatch: /, '')}`, {
        subject: label,
        hint: 'the repository served a different .tgz than its index.yaml says; do not use this chart until the repository owner explains it',
        cause: e,
      });
    }
    throw e;
  }
}

/** The `.prov` beside the chart (docs/reference/repo-formats.md §2): 404 means the chart is not signed. */
async function downloadProv(ctx: SourceContext, url: URL, headers: Record<string, string>, label: string, tgzDigest: string): Promise<Descriptor | null> {
  const provUrl = new URL(url);
  provUrl.pathname += '.prov';
  const got = await ctx.transfer.fetch({ url: provUrl, headers, mediaType: PROV_MEDIA_TYPE, subject: `${label} provenance (${safeUrl(provUrl)})`, absentOn: [404] });
  if (!got) return null;
  const d: Descriptor = { mediaType: PROV_MEDIA_TYPE, digest: got.digest, size: got.size };
  // The signed body ends with `files: {<chart>.tgz: sha256:…}` (docs/reference/repo-formats.md §2): a .prov for other
  // bytes is worse than none. The PGP signature itself is for `helm verify` with the signer's keyring.
  const text = d.size <= 1 << 20 ? await readFile(ctx.store.path(d.digest), 'utf8') : '';
  const files = text.split(/^\.\.\.$/m)[1]?.split('-----BEGIN PGP SIGNATURE-----')[0] ?? '';
  const signed = [...files.matchAll(/sha256:([a-f0-9]{64})/g)].map((m) => 'sha256:' + m[1]);
  if (signed.length && !signed.includes(tgzDigest)) {
    throw new IntegrityError(`${label}: ${safeUrl(provUrl)} is the provenance of other bytes (${signed[0]}), not of the chart (${tgzDigest})`, {
      subject: label, hint: 'the repository serves a .prov that does not belong to this chart; ask its owner',
    });
  }
  return d;
}

/**
 * `keyring:` (docs/helm.md): the .prov must exist, its PGP signature must verify with gpgv against the
 * keyring, and the SIGNED body (as gpgv returns it) must give the chart's sha256 — what `helm verify` checks.
 */
async function checkProvenance(keyring: string, prov: Descriptor | null, tgz: Descriptor, label: string, ctx: SourceContext): Promise<string> {
  const ring = isAbsolute(keyring) ? keyring : resolvePath(ctx.manifestDir, keyring);
  const hint = 'the chart must be signed (helm package --sign) by a key in the keyring; remove keyring: only if you accept unsigned charts';
  if (!prov) throw new TrustError(`${label}: the repository has no .prov provenance file, and keyring ${ring} requires one`, { subject: label, hint });
  const { text, fingerprint } = await verifyClearsigned(ctx.store.path(prov.digest), ring, `${label} provenance`, hint);
  const files = text.split(/^\.\.\.$/m)[1] ?? '';
  if (!files.includes(tgz.digest)) {
    throw new TrustError(`${label}: the signed .prov does not give the chart's ${tgz.digest}`, { subject: label, hint: 'the provenance belongs to other bytes; do not use this chart' });
  }
  return `.prov PGP signature by ${fingerprint} verified with gpgv (keyring ${ring}), its signed sha256 of the chart checked`;
}

async function resolveHttp(spec: HttpChartSpec, ctx: SourceContext): Promise<Artifact[]> {
  const headers = credentials(spec, `chart ${spec.name}`);
  const index = await repoIndex(spec.repo, headers, ctx);
  const entry = pickVersion(index, spec.name, spec.version, spec.prerelease ?? false);
  const version = String(entry.version);
  const label = `chart ${spec.name}@${version}`;
  const file = chartFileName(spec.name, version);
  const ref = Array.isArray(entry.urls) ? entry.urls[0] : undefined;
  // Helm uses only urls[0] (docs/reference/repo-formats.md §2).
  if (typeof ref !== 'string' || !ref) throw new UpstreamError(`${label}: the repository index gives no download URL`, { subject: label });
  const url = resolveChartUrl(spec.repo, ref);
  const sendHeaders = headersFor(url, spec.repo, headers);
  const expected = indexDigest(entry);
  const cacheKey = 'helm:' + url.toString();
  const cached = await ctx.store.getRef<CacheRecord>(cacheKey);

  let tgz: Descriptor | undefined;
  let prov: Descriptor | null | undefined;
  if (expected && (await ctx.store.has(expected))) {
    tgz = { mediaType: CHART_MEDIA_TYPE, digest: expected, size: (await ctx.store.size(expected))! };
    if (cached?.digest === expected && (cached.prov === null || (cached.prov && (await ctx.store.has(cached.prov.digest))))) prov = cached.prov;
  } else if (!ctx.dryRun || spec.images) {
    // The size is only known from the bytes, and images: true reads the chart; the download is the cache.
    tgz = await download(ctx, url, sendHeaders, expected, label, CHART_MEDIA_TYPE);
  }
  if (tgz && prov === undefined && !ctx.dryRun) {
    prov = await downloadProv(ctx, url, sendHeaders, label, tgz.digest);
    await ctx.store.setRef(cacheKey, { digest: tgz.digest, size: tgz.size, prov } satisfies CacheRecord);
  }
  let provenance = '';
  if (spec.keyring && !ctx.dryRun) provenance = await checkProvenance(spec.keyring, prov ?? null, tgz!, label, ctx);
  if (!tgz) {
    const res = await ctx.transfer.run(async () => {
      const r = await ctx.http.request(url, { method: 'HEAD', headers: sendHeaders, side: 'upstream', signal: ctx.signal });
      await r.body.dump();
      return r;
    });
    if (res.status !== 200) await failStatus(res, 'HEAD', 'upstream');
    tgz = { mediaType: CHART_MEDIA_TYPE, digest: expected ?? 'sha256:' + '0'.repeat(64), size: Number(header(res, 'content-length') ?? 0) };
  }

  const fields = Object.fromEntries(Object.entries(entry).filter(([k]) => CHART_VERSION_FIELDS.has(k)));
  const meta: ChartMeta = {
    source: 'http', file, url: safeUrl(url), prov: Boolean(prov), entry: fields,
    ...(Object.keys(sendHeaders).length ? { auth: { usernameEnv: spec.usernameEnv, passwordEnv: spec.passwordEnv } } : {}),
  };
  const chart: Artifact = {
    kind: 'chart', name: spec.name, version, digest: tgz.digest,
    blobs: prov ? [tgz, prov] : [tgz],
    upstream: {
      url: safeUrl(url),
      integrity: expected ? { digest: expected } : undefined,
      verified: (expected ? 'sha256 from the repository index.yaml, checked while streaming' : 'no digest in the repository index; sha256 recorded at pack')
        + (provenance ? `; ${provenance}` : prov ? '; .prov provenance file carried (its sha256 of the chart checked; PGP signature not checked: no keyring)' : ''),
    },
    meta: meta as unknown as Record<string, unknown>,
  };
  const images = spec.images || spec.extraImages?.length ? await chartImageArtifacts(spec, spec.name, label, spec.images ? tgz : undefined, meta, ctx) : [];
  return [chart, ...images];
}

/** The same error (same class, so the same exit code) with the chart it happened for in front. */
function inContext(e: unknown, prefix: string, hint?: string): unknown {
  if (!(e instanceof AirgapError) || e instanceof PartialError) return e;
  const Err = e.constructor as new (message: string, details: ErrorDetails) => AirgapError;
  return new Err(`${prefix}: ${e.message}`, { subject: e.subject, hint: e.hint ?? hint, cause: e });
}

/**
 * The images a chart declares, as `images` entries resolved by the images ecosystem through the
 * pipeline (SourceContext.resolveAlso), minus `excludeImages`, plus `extraImages`.
 */
async function chartImageArtifacts(spec: ChartSpec, chartName: string, label: string, tgz: Descriptor | undefined, meta: { images?: FoundImage[] }, ctx: SourceContext): Promise<Artifact[]> {
  let found: FoundImage[] = [];
  if (tgz) {
    let files;
    try {
      files = await readChartArchive(ctx.store.open(tgz.digest), chartName);
    } catch (e) {
      if (e instanceof UpstreamError || e instanceof IntegrityError) throw e;
      throw new UpstreamError(`${label}: cannot read the chart archive: ${(e as Error).message}`, { subject: label, cause: e });
    }
    found = chartImages(files, (msg) => ctx.log.warn(`${label}: ${msg}`));
  }
  const excluded = new Set(spec.excludeImages ?? []);
  const kept: FoundImage[] = [];
  for (const img of found) {
    if (excluded.has(img.ref) || excluded.has(repositoryOf(img.ref))) {
      ctx.log.info(`${label}: image ${img.ref} left out (excludeImages)`);
      continue;
    }
    ctx.log.info(`${label}: image ${img.ref} (from ${img.from.join('; ')})`);
    kept.push(img);
  }
  for (const ref of spec.extraImages ?? []) {
    if (kept.some((k) => k.ref === ref)) continue;
    ctx.log.info(`${label}: image ${ref} (from extraImages)`);
    kept.push({ ref, from: ['extraImages'] });
  }
  meta.images = kept;
  if (!kept.length) return [];
  if (!ctx.resolveAlso) throw new UsageError(`${label}: images cannot be resolved in this context`, { subject: label });
  const out: Artifact[] = [];
  for (const img of kept) {
    try {
      out.push(...(await ctx.resolveAlso('images', { ref: img.ref })));
    } catch (e) {
      throw inContext(e, `${label}: image ${img.ref} (from ${img.from.join('; ')})`, 'add it to excludeImages to leave it out');
    }
  }
  return out;
}

/** The Helm config media type and the chart layer media types (current and legacy): docs/reference/repo-formats.md §2. */
const HELM_CONFIG_MEDIA_TYPE = 'application/vnd.cncf.helm.config.v1+json';
const CHART_LAYER_TYPES = new Set([CHART_MEDIA_TYPE, 'application/tar+gzip']);

/**
 * An OCI chart is an OCI artifact (Helm config + chart layer [+ provenance layer]); the images ecosystem
 * carries it like any manifest — digests checked, byte-for-byte — and pushes it to the docker endpoint or
 * the mirror's `oci/` layout. The tag is the version with `+` written `_` (docs/reference/repo-formats.md §2 pitfall 2).
 */
async function resolveOci(spec: OciChartSpec, ctx: SourceContext): Promise<Artifact[]> {
  const m = /^oci:\/\/(.+):([^:/]+)$/.exec(spec.ref)!;
  const [path, version] = [m[1], m[2].replace(/_/g, '+')];
  const name = path.split('/').pop()!;
  const label = `chart ${name}@${version} (${spec.ref})`;
  if (!ctx.resolveAlso) throw new UsageError(`${label}: OCI charts cannot be resolved in this context`, { subject: spec.ref });
  let carried: Artifact[];
  try {
    carried = await ctx.resolveAlso('images', { ref: `${path}:${version.replace(/\+/g, '_')}` });
  } catch (e) {
    throw inContext(e, `${label}: OCI charts are carried by the images ecosystem`);
  }
  const chart = carried.find((a) => a.blobs.some((b) => b.mediaType === HELM_CONFIG_MEDIA_TYPE));
  const layer = chart?.blobs.find((b) => CHART_LAYER_TYPES.has(b.mediaType));
  if (!chart || !layer) {
    throw new UpstreamError(`${label}: not a Helm chart (no ${HELM_CONFIG_MEDIA_TYPE} config or chart layer in its manifest)`, {
      subject: spec.ref, hint: 'Helm refuses such manifests too; list container images under images:, not charts:',
    });
  }
  const wantImages = spec.images || spec.extraImages?.length;
  if (spec.images && !(await ctx.store.has(layer.digest))) {
    if (!ctx.fetchAlso) throw new UsageError(`${label}: the chart cannot be read in this context to find its images`, { subject: spec.ref });
    await ctx.fetchAlso(chart);
  }
  const images = wantImages ? await chartImageArtifacts(spec, name, label, spec.images ? layer : undefined, {}, ctx) : [];
  return [...carried, ...images];
}

/**
 * Charts from HTTP repositories (index.yaml) and OCI registries. The .tgz is carried byte for byte,
 * never re-packed (its digest and .prov depend on the exact bytes: docs/reference/repo-formats.md §2 pitfall 3).
 */
export const chartSource: SourceHalf<ChartSpec> = {
  resolve(spec, ctx) {
    return isOciSpec(spec) ? resolveOci(spec, ctx) : resolveHttp(spec, ctx);
  },

  async fetch(artifact, ctx) {
    const meta = artifact.meta as unknown as ChartMeta;
    const label = `chart ${artifact.name}@${artifact.version}`;
    const url = new URL(meta.url);
    const headers = meta.auth ? credentials(meta.auth, label) : {};
    const [tgz, prov] = artifact.blobs;
    // resolve() already streamed the bytes into the store; a blob evicted since is fetched again.
    if (!(await ctx.store.has(tgz.digest))) await download(ctx, url, headers, tgz.digest, label, CHART_MEDIA_TYPE);
    if (prov && !(await ctx.store.has(prov.digest))) {
      const again = await downloadProv(ctx, url, headers, label, tgz.digest);
      if (again?.digest !== prov.digest) throw new IntegrityError(`${label}: the .prov file changed upstream while packing`, { subject: label });
    }
  },
};
