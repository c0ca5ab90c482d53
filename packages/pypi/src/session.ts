import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import {
  type Descriptor, type SourceContext, IntegrityError, OCTET_STREAM, UpstreamError, UsageError, header, safeUrl,
} from '@airgap/core';
import { type CoreMetadata, parseCoreMetadata } from './core-metadata.js';
import { type ProjectFile, type ProjectPage, fetchProjectPage } from './simple-index.js';
import type { PypiSpec } from './spec.js';
import type { WheelName } from './tags.js';
import { type RandomAccess, ZipFormatError, fileRandomAccess, findWheelMetadata, readCentralDirectory, readEntry } from './zip.js';

export const WHEEL_MEDIA_TYPE = 'application/vnd.airgap.pypi.wheel';
export const SDIST_MEDIA_TYPE = 'application/vnd.airgap.pypi.sdist';
export const METADATA_MEDIA_TYPE = 'application/vnd.airgap.pypi.core-metadata';
export const TITLE = 'org.opencontainers.image.title';

export interface PypiCandidate {
  name: string;
  version: string;
  file: ProjectFile;
  wheel?: WheelName;
}

export interface LoadedMetadata {
  md: CoreMetadata;
  blob: Descriptor;
  source: 'pep658' | 'wheel';
}

export function authHeaders(spec: Pick<PypiSpec, 'tokenEnv' | 'usernameEnv' | 'passwordEnv'>, env = process.env): { headers: Record<string, string>; secrets: string[] } {
  const names = [spec.tokenEnv, spec.usernameEnv, spec.passwordEnv].filter((n): n is string => Boolean(n));
  const unset = names.filter((n) => env[n] === undefined);
  if (unset.length) {
    throw new UsageError(`pypi: environment variable ${unset.join(' and ')} is not set`, { subject: unset.join(', '), hint: `export ${unset.join(' and ')} with the index credentials` });
  }
  // Python indexes take tokens as Basic auth (`__token__:<token>` on PyPI-style servers, or user:token).
  const user = spec.usernameEnv ? env[spec.usernameEnv]! : spec.tokenEnv ? '__token__' : undefined;
  const pass = spec.tokenEnv ? env[spec.tokenEnv]! : spec.passwordEnv ? env[spec.passwordEnv]! : undefined;
  if (user === undefined && pass === undefined) return { headers: {}, secrets: [] };
  const basic = Buffer.from(`${user ?? ''}:${pass ?? ''}`).toString('base64');
  return { headers: { authorization: `Basic ${basic}` }, secrets: [pass ?? '', basic].filter(Boolean) };
}

/** Credentials go only to the index's own origin; files served from elsewhere (a CDN) get none. */
export function headersFor(url: string, indexUrl: string, auth: Record<string, string>): Record<string, string> {
  return new URL(url).origin === new URL(indexUrl).origin ? auth : {};
}

export function sha256Of(file: ProjectFile): string | undefined {
  const h = file.hashes.sha256;
  return h && /^[0-9a-f]{64}$/.test(h) ? h : undefined;
}

/** One resolution session of a manifest entry: caches of project pages and metadata shared by all its target platforms. */
export class PypiSession {
  private readonly pages = new Map<string, Promise<ProjectPage>>();
  private readonly metadata = new Map<string, Promise<LoadedMetadata | undefined>>();
  readonly auth: { headers: Record<string, string>; secrets: string[] };
  readonly index: string;

  constructor(readonly spec: PypiSpec, readonly ctx: SourceContext) {
    this.auth = authHeaders(spec);
    this.index = spec.index.endsWith('/') ? spec.index : spec.index + '/';
  }

  page(name: string): Promise<ProjectPage> {
    let p = this.pages.get(name);
    if (!p) {
      p = this.ctx.transfer.run(() => fetchProjectPage(this.ctx.http, this.index, name, headersFor(this.index, this.index, this.auth.headers), this.ctx.signal));
      this.pages.set(name, p);
    }
    return p;
  }

  coreMetadata(c: PypiCandidate): Promise<LoadedMetadata | undefined> {
    let p = this.metadata.get(c.file.url);
    if (!p) {
      p = this.loadMetadata(c);
      this.metadata.set(c.file.url, p);
    }
    return p;
  }

  private async loadMetadata(c: PypiCandidate): Promise<LoadedMetadata | undefined> {
    const { file } = c;
    if (file.coreMetadata) {
      const blob = await this.fetchPep658(file);
      if (blob) return { md: parseCoreMetadata(await readFile(this.ctx.store.path(blob.digest), 'utf8')), blob, source: 'pep658' };
    }
    if (!c.wheel) {
      this.ctx.log.warn(`pypi: ${file.filename} is an sdist without PEP 658 metadata; its dependencies are not resolved (list them in requirements if it needs any)`);
      return undefined;
    }
    const bytes = await this.wheelMetadataBytes(c);
    const blob = await this.ctx.store.put(Readable.from([bytes]), {}, METADATA_MEDIA_TYPE);
    return { md: parseCoreMetadata(bytes.toString('utf8')), blob: { ...blob, annotations: { [TITLE]: file.filename + '.metadata' } }, source: 'wheel' };
  }

  /** PEP 658/714 `<file>.metadata`, hash-checked when the index gives one; undefined when not actually served (pitfall 1). */
  async fetchPep658(file: ProjectFile): Promise<Descriptor | undefined> {
    const url = file.url + '.metadata';
    const expected = typeof file.coreMetadata === 'object' && file.coreMetadata.sha256 ? 'sha256:' + file.coreMetadata.sha256 : undefined;
    if (expected && (await this.ctx.store.has(expected))) {
      return { mediaType: METADATA_MEDIA_TYPE, digest: expected, size: (await this.ctx.store.size(expected))!, annotations: { [TITLE]: file.filename + '.metadata' } };
    }
    const d = await downloadInto(this.ctx, url, `${file.filename}.metadata`, expected, undefined, headersFor(url, this.index, this.auth.headers), METADATA_MEDIA_TYPE, true);
    if (!d) {
      this.ctx.log.warn(`pypi: the index advertises ${safeUrl(url)} but does not serve it; reading METADATA from the wheel instead`);
      return undefined;
    }
    return { ...d, annotations: { [TITLE]: file.filename + '.metadata' } };
  }

  /** The wheel's METADATA: by HTTP range requests on its central directory when the server allows, else from the whole wheel (carried anyway). */
  async wheelMetadataBytes(c: PypiCandidate): Promise<Buffer> {
    const { file, wheel } = c;
    const sha = sha256Of(file);
    const subject = `${file.filename} (${safeUrl(file.url)})`;
    const fromZip = async (zip: RandomAccess) => {
      const entries = await readCentralDirectory(zip);
      const entry = findWheelMetadata(entries, wheel!.distribution, wheel!.version);
      if (!entry) throw new ZipFormatError('no .dist-info/METADATA member');
      return readEntry(zip, entry);
    };
    try {
      if (!sha || !(await this.ctx.store.has('sha256:' + sha))) {
        const remote = await this.rangeAccess(file.url);
        if (remote) return await fromZip(remote);
      }
      const d = await this.downloadFile(file);
      const local = await fileRandomAccess(this.ctx.store.path(d.digest));
      try {
        return await fromZip(local);
      } finally {
        await local.close();
      }
    } catch (e) {
      if (e instanceof ZipFormatError) throw new UpstreamError(`pypi: ${subject}: not a readable wheel: ${e.message}`, { subject: file.filename, cause: e });
      throw e;
    }
  }

  /** RandomAccess over HTTP ranges, or undefined when the server ignores `Range` (answers 200). */
  private async rangeAccess(url: string): Promise<RandomAccess | undefined> {
    const headers = headersFor(url, this.index, this.auth.headers);
    // Each range request is a transfer under the engine's one limit (docs/transfers.md).
    const get = (range: string) => this.ctx.transfer.run(async () => {
      const res = await this.ctx.http.request(url, { headers: { ...headers, range: `bytes=${range}`, 'accept-encoding': 'identity' }, side: 'upstream', signal: this.ctx.signal });
      if (res.status !== 206) {
        // No range support (200, or 416 from a server that refuses suffix ranges): stop this download
        // here; the caller falls back to the whole file, which reports a real failure properly.
        res.body.on('error', () => {});
        res.body.destroy();
        return undefined;
      }
      const total = /\/(\d+)$/.exec(header(res, 'content-range') ?? '')?.[1];
      return { body: Buffer.from(await res.body.arrayBuffer()), total: total === undefined ? undefined : Number(total) };
    });
    const first = await get('-65600');
    if (!first || first.total === undefined) return undefined;
    const size = first.total;
    const tailBuf = first.body;
    return {
      size,
      tail: async (length) => (length <= tailBuf.length ? tailBuf.subarray(tailBuf.length - length) : (await get(`-${length}`))!.body),
      read: async (offset, length) => {
        const tailStart = size - tailBuf.length;
        if (offset >= tailStart) return tailBuf.subarray(offset - tailStart, offset - tailStart + length);
        const r = await get(`${offset}-${offset + length - 1}`);
        if (!r) throw new ZipFormatError('server stopped honouring Range');
        return r.body;
      },
    };
  }

  /** Stream a distribution file into the store, checking the index's sha256 while it streams. */
  async downloadFile(file: ProjectFile): Promise<Descriptor> {
    const sha = sha256Of(file);
    if (sha && (await this.ctx.store.has('sha256:' + sha))) {
      return { mediaType: OCTET_STREAM, digest: 'sha256:' + sha, size: (await this.ctx.store.size('sha256:' + sha))! };
    }
    return (await downloadInto(this.ctx, file.url, file.filename, sha ? 'sha256:' + sha : undefined, file.size, headersFor(file.url, this.index, this.auth.headers), OCTET_STREAM))!;
  }
}

/**
 * A distribution file (or its PEP 658 `.metadata`) through the transfer engine (docs/transfers.md): one
 * limit, resumed on a cut, the index's sha256 checked while it streams. Undefined on a 404 when `absentOk`.
 */
export async function downloadInto(
  ctx: SourceContext, url: string, filename: string, digest: string | undefined, size: number | undefined, headers: Record<string, string>, mediaType: string, absentOk = false,
): Promise<Descriptor | undefined> {
  try {
    const d = await ctx.transfer.fetch({
      url, headers, digest, size, mediaType, subject: `${filename} (${safeUrl(url)})`,
      ...(absentOk ? { absentOn: [404] } : { statusHint: (status: number) => (status === 404 ? 'the index lists a file it does not serve' : undefined) }),
    });
    return d && { mediaType, digest: d.digest, size: d.size };
  } catch (e) {
    if (e instanceof IntegrityError) {
      throw new IntegrityError(`pypi: ${e.message} (downloaded from ${safeUrl(url)}; the sha256 is the index's)`, {
        subject: filename,
        hint: 'the index served different bytes than its own hash says; do not use this file until that is explained',
        cause: e,
      });
    }
    throw e;
  }
}
