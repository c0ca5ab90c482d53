import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { satisfies, valid, validRange, compare } from '@renovatebot/pep440';
import {
  type Artifact, type Descriptor, type SourceContext, type SourceHalf, IntegrityError, OCTET_STREAM, UpstreamError, UsageError,
  header, safeUrl,
} from '@airgap/core';
import { type CoreMetadata, field, fieldAll, parseCoreMetadata, twineFields } from './core-metadata.js';
import { type MarkerEnvironment, evaluateMarker, targetMarkerEnvironment } from './markers.js';
import { normalizeName } from './names.js';
import { type Requirement, RequirementSyntaxError, parseRequirement, pinsExactly } from './requirement.js';
import { ResolutionConflict, ResolutionTooComplex, type ResolverProvider, resolveRequirements } from './resolver.js';
import { type ProjectFile, type ProjectPage, fetchProjectPage } from './simple-index.js';
import type { PypiSpec } from './spec.js';
import { TagRanking, type WheelName, parseSdistFilename, parseWheelFilename, supportedTags, wheelTag } from './tags.js';
import { fileRandomAccess, findWheelMetadata, readCentralDirectory, readEntry } from './zip.js';
import { METADATA_MEDIA_TYPE, type PypiCandidate, PypiSession, SDIST_MEDIA_TYPE, TITLE, WHEEL_MEDIA_TYPE, authHeaders, downloadInto, headersFor, sha256Of } from './session.js';

export { METADATA_MEDIA_TYPE, SDIST_MEDIA_TYPE, WHEEL_MEDIA_TYPE } from './session.js';


/** What the publish halves read from `artifact.meta` (recorded in the signed bundle index). */
export interface PypiArtifactMeta {
  filename: string;
  filetype: 'bdist_wheel' | 'sdist';
  /** twine's `pyversion`: the wheel's python tag, `source` for an sdist. */
  pyversion: string;
  requiresPython?: string;
  /** Core-metadata fields as twine sends them (without the description). */
  metadata: Record<string, string | string[]>;
  /** Where the `.metadata` blob came from: the index (PEP 658) or the wheel's own METADATA member. */
  metadataSource?: 'pep658' | 'wheel';
  /** Names of the environment variables holding the index credentials (never the values). */
  auth?: { tokenEnv?: string; usernameEnv?: string; passwordEnv?: string };
}


/** The resolver's view of one target environment (one platform of the entry). */
class TargetProvider implements ResolverProvider<PypiCandidate> {
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly session: PypiSession,
    private readonly env: MarkerEnvironment,
    private readonly ranking: TagRanking,
    private readonly withDependencies: boolean,
  ) {}

  async candidates(name: string, requirements: Requirement[]): Promise<PypiCandidate[]> {
    const page = await this.session.page(name);
    const python = this.env.python_full_version;
    const exactPin = requirements.some((r) => pinsExactly(r.specifier));
    type Best = { wheel?: { file: ProjectFile; w: WheelName; rank: number }; sdist?: ProjectFile };
    const byVersion = new Map<string, Best>();
    const notes: string[] = [];
    for (const file of page.files) {
      if (file.requiresPython && !admitsPython(python, file.requiresPython)) continue;
      const w = parseWheelFilename(file.filename);
      let version: string | undefined;
      if (w) {
        if (normalizeName(w.distribution) !== name) continue;
        version = w.version;
      } else {
        version = parseSdistFilename(file.filename, name)?.version;
      }
      if (!version || !valid(version)) continue;
      // PEP 592: a yanked file is only for a requirement that pins its version exactly.
      if (file.yanked && !(exactPin && requirements.every((r) => safeSatisfies(version!, r.specifier)))) continue;
      const best = byVersion.get(version) ?? {};
      if (w) {
        const rank = this.ranking.of(w);
        if (rank !== undefined && (!best.wheel || rank < best.wheel.rank)) best.wheel = { file, w, rank };
      } else if (!best.sdist) {
        best.sdist = file;
      }
      byVersion.set(version, best);
    }
    const fits = (pre: boolean) => [...byVersion.keys()].filter((v) => requirements.every((r) => safeSatisfies(v, r.specifier, pre)));
    // PEP 440: pre-releases only when nothing final satisfies (or a specifier names one).
    let versions = fits(false);
    if (versions.length === 0) versions = fits(true);
    versions.sort((a, b) => compare(b, a));
    const wheels: PypiCandidate[] = [];
    const sdists: PypiCandidate[] = [];
    for (const v of versions) {
      const b = byVersion.get(v)!;
      if (b.wheel) wheels.push({ name, version: v, file: b.wheel.file, wheel: b.wheel.w });
      else if (b.sdist) sdists.push({ name, version: v, file: b.sdist });
    }
    if (byVersion.size === 0) notes.push(`${page.files.length} file(s) listed, none for Python ${python}`);
    else notes.push(`versions seen: ${[...byVersion.keys()].sort(compare).join(', ')}`);
    this.seen.set(name, notes.join('; '));
    // Wheels first; sdists only when no wheel of an allowed version fits the target.
    return [...wheels, ...sdists];
  }

  explainNone(name: string): string {
    return `${this.seen.get(name) ?? 'nothing listed'} (target: Python ${this.env.python_full_version}, ${this.ranking.tags[0] ?? 'any'})`;
  }

  async dependencies(c: PypiCandidate, extras: string[]): Promise<Requirement[] | null> {
    if (!this.withDependencies) return [];
    const loaded = await this.session.coreMetadata(c);
    if (!loaded) return [];
    const rp = field(loaded.md, 'requires-python');
    if (rp && !admitsPython(this.env.python_full_version, rp)) return null;
    const out: Requirement[] = [];
    for (const line of fieldAll(loaded.md, 'requires-dist')) {
      let req: Requirement;
      try {
        req = parseRequirement(line);
      } catch (e) {
        throw new UpstreamError(`pypi: ${c.file.filename}: bad Requires-Dist ${JSON.stringify(line)}: ${(e as Error).message}`, { subject: c.file.filename, cause: e });
      }
      if (req.url) continue;
      let wanted: boolean;
      try {
        wanted = !req.marker || ['', ...extras].some((extra) => evaluateMarker(req.marker!, { ...this.env, extra }));
      } catch (e) {
        throw new UpstreamError(`pypi: ${c.file.filename}: cannot evaluate the marker of Requires-Dist ${JSON.stringify(line)}: ${(e as Error).message}`, { subject: c.file.filename, cause: e });
      }
      if (wanted) out.push(req);
    }
    return out;
  }

  satisfies(c: PypiCandidate, r: Requirement): boolean {
    return safeSatisfies(c.version, r.specifier, true);
  }
}

/** pip ignores a `requires-python` it cannot parse rather than refusing the file; so does airgap. */
function admitsPython(python: string, requiresPython: string): boolean {
  return !validRange(requiresPython.replace(/\s+/g, '')) || safeSatisfies(python, requiresPython.replace(/\s+/g, ''));
}

function safeSatisfies(version: string, specifier: string, prereleases = true): boolean {
  if (!specifier) return true;
  try {
    return satisfies(version, specifier, { prereleases });
  } catch {
    return false;
  }
}

function parseRoots(spec: PypiSpec): Requirement[] {
  return spec.requirements.map((text, i) => {
    try {
      const r = parseRequirement(text);
      if (r.url) throw new RequirementSyntaxError(`direct URL requirements are not resolved against an index: ${text}`);
      return r;
    } catch (e) {
      throw new UsageError(`pypi: requirements[${i}]: ${(e as Error).message}`, { subject: `pypi.requirements[${i}]`, hint: 'write a PEP 508 requirement such as "requests>=2.31" or "uvicorn[standard]==0.30.1"' });
    }
  });
}

export const pypiSource: SourceHalf<PypiSpec> = {
  async resolve(spec, ctx) {
    if (!/^\d+\.\d+(\.\d+)?$/.test(spec.python)) throw new UsageError(`pypi: python ${JSON.stringify(spec.python)} is not a version like "3.11"`, { subject: 'pypi.python' });
    const [major, minor] = spec.python.split('.').map(Number);
    const roots = parseRoots(spec);
    const session = new PypiSession(spec, ctx);
    const implementation = spec.implementation ?? 'cp';
    const abis = spec.abi === undefined ? undefined : Array.isArray(spec.abi) ? spec.abi : [spec.abi];
    const byFile = new Map<string, Artifact>();
    for (const platform of spec.platforms ?? ['any']) {
      const env = targetMarkerEnvironment(spec.python, platform, implementation);
      const ranking = new TagRanking(supportedTags({ python: [major, minor], implementation, abis, platform }));
      const provider = new TargetProvider(session, env, ranking, spec.dependencies !== false);
      const wanted = roots.filter((r) => {
        try {
          return !r.marker || evaluateMarker(r.marker, env);
        } catch (e) {
          throw new UsageError(`pypi: requirement ${JSON.stringify(r.text)}: ${(e as Error).message}`, { subject: 'pypi.requirements', cause: e });
        }
      });
      let pins: Map<string, PypiCandidate>;
      try {
        pins = await resolveRequirements(wanted, provider);
      } catch (e) {
        if (e instanceof ResolutionConflict || e instanceof ResolutionTooComplex) {
          // Versions the index does not have (or not together): the manifest's to fix (exit 2, docs/exit-codes.md).
          throw new UsageError(`pypi: cannot resolve for Python ${spec.python} on ${platform}: ${e.message}`, {
            subject: safeUrl(spec.index),
            hint: 'relax one side of the conflict in requirements, or pin a version that the other side accepts',
            cause: e,
          });
        }
        throw e;
      }
      ctx.log.info(`pypi ${safeUrl(spec.index)}: Python ${spec.python} on ${platform}: ${[...pins.values()].map((c) => `${c.name}==${c.version}`).sort().join(' ')}`);
      for (const c of pins.values()) {
        if (byFile.has(c.file.url)) continue;
        byFile.set(c.file.url, await toArtifact(session, c));
      }
    }
    return [...byFile.values()].sort((a, b) => a.name.localeCompare(b.name) || String(a.meta?.filename).localeCompare(String(b.meta?.filename)));
  },

  async fetch(artifact, ctx) {
    const meta = artifact.meta as unknown as PypiArtifactMeta;
    const auth = authHeaders(meta.auth ?? {}).headers;
    const [file, metadata] = artifact.blobs;
    if (!(await ctx.store.has(file.digest))) {
      await downloadInto(ctx, artifact.upstream.url, meta.filename, file.digest, file.size, originHeaders(artifact.upstream.url, meta, auth), file.mediaType);
    }
    if (metadata && !(await ctx.store.has(metadata.digest))) {
      if (meta.metadataSource === 'pep658') {
        await downloadInto(ctx, artifact.upstream.url + '.metadata', meta.filename + '.metadata', metadata.digest, metadata.size, originHeaders(artifact.upstream.url, meta, auth), METADATA_MEDIA_TYPE);
      } else {
        const wheel = parseWheelFilename(meta.filename)!;
        const zip = await fileRandomAccess(ctx.store.path(file.digest));
        try {
          const entry = findWheelMetadata(await readCentralDirectory(zip), wheel.distribution, wheel.version);
          if (!entry) throw new UpstreamError(`pypi: ${meta.filename} has no METADATA member`, { subject: meta.filename });
          await ctx.store.put(Readable.from([await readEntry(zip, entry)]), { digest: metadata.digest, subject: meta.filename + '.metadata' }, METADATA_MEDIA_TYPE);
        } finally {
          await zip.close();
        }
      }
    }
  },
};

function originHeaders(url: string, meta: PypiArtifactMeta & { index?: string }, auth: Record<string, string>): Record<string, string> {
  return meta.index ? headersFor(url, meta.index, auth) : {};
}

async function toArtifact(session: PypiSession, c: PypiCandidate): Promise<Artifact> {
  const { file, wheel } = c;
  const ctx = session.ctx;
  const loaded = c.wheel || file.coreMetadata ? await session.coreMetadata(c) : undefined;
  let sha = sha256Of(file);
  let size = file.size;
  if (sha && size === undefined) size = (await ctx.store.size('sha256:' + sha)) ?? (await contentLength(session, file.url));
  if ((!sha || size === undefined) && !ctx.dryRun) {
    // No sha256 (or no size) from the index: the bytes are the only source of both.
    const d = await session.downloadFile(file);
    sha = d.digest.slice(7);
    size = d.size;
  }
  const digest = sha ? 'sha256:' + sha : 'sha256:' + '0'.repeat(64);
  const blobs: Descriptor[] = [
    { mediaType: wheel ? WHEEL_MEDIA_TYPE : SDIST_MEDIA_TYPE, digest, size: size ?? 0, annotations: { [TITLE]: file.filename } },
  ];
  if (loaded) blobs.push(loaded.blob);
  const meta: PypiArtifactMeta & { index: string } = {
    filename: file.filename,
    filetype: wheel ? 'bdist_wheel' : 'sdist',
    pyversion: wheel ? wheel.pythonTags.join('.') : 'source',
    requiresPython: file.requiresPython ?? (loaded ? field(loaded.md, 'requires-python') : undefined),
    metadata: loaded ? twineFields(loaded.md, false) : {},
    metadataSource: loaded?.source,
    index: safeUrl(session.index),
  };
  if (session.spec.tokenEnv || session.spec.usernameEnv || session.spec.passwordEnv) {
    meta.auth = { tokenEnv: session.spec.tokenEnv, usernameEnv: session.spec.usernameEnv, passwordEnv: session.spec.passwordEnv };
  }
  const display = loaded ? field(loaded.md, 'name') : undefined;
  return {
    kind: 'pypi',
    name: c.name,
    version: c.version,
    platform: wheel ? wheelTag(wheel) : 'sdist',
    digest,
    blobs,
    upstream: {
      url: safeUrl(file.url),
      integrity: sha && sha256Of(file) ? { sha256: sha } : undefined,
      verified: sha256Of(file) ? 'sha256 from the simple index, checked while streaming' : 'the index gives no sha256; recorded at pack',
    },
    meta: { ...meta, ...(display ? { displayName: display } : {}) } as unknown as Record<string, unknown>,
  };
}

async function contentLength(session: PypiSession, url: string): Promise<number | undefined> {
  const res = await session.ctx.transfer.run(async () => {
    const r = await session.ctx.http.request(url, { method: 'HEAD', headers: headersFor(url, session.index, session.auth.headers), side: 'upstream', signal: session.ctx.signal });
    await r.body.dump();
    return r;
  });
  const n = Number(header(res, 'content-length'));
  return res.status === 200 && Number.isFinite(n) ? n : undefined;
}
