import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';
import {
  type Descriptor, type SourceContext, IntegrityError, UpstreamError, TrustError, failStatus, safeUrl,
} from '@airgap/core';
import { type Stanza, field, parseStanzas, streamStanzas } from './control.js';
import { prepareKeyrings, verifyRelease } from './gpg.js';

/** One archive + suite to read (from the manifest entry, or one host source). */
export interface ArchiveOrigin {
  /** Archive base URL, ending in `/` (the folder holding `dists/`). */
  uri: string;
  suite: string;
  components: string[];
  architectures: string[];
  keyrings: { files: string[] } | { armored: string };
  /** How the keyring is named in messages: paths, or "inline Signed-By of <file>". */
  keyringLabel: string;
}

export interface VerifiedRelease {
  origin: ArchiveOrigin;
  release: Stanza;
  /** `SHA256:` entries of the Release, by path relative to `dists/<suite>/`. */
  sha256: Map<string, { hash: string; size: number }>;
  byHash: boolean;
  /** The upstream signed metadata as stored in the content store (kept in the bundle for audit). */
  signedBlobs: Descriptor[];
  /** URL of the Release file that was verified (InRelease or Release). */
  releaseUrl: string;
  fingerprint: string;
}

/** Annotation naming the role of a blob that is not the .deb itself. */
export const ROLE_ANNOTATION = 'org.airgap.apt.role';
export const URL_ANNOTATION = 'org.airgap.apt.url';

const MAX_RELEASE_BYTES = 64 << 20;

function distsUrl(origin: ArchiveOrigin, rel: string): string {
  return new URL(`dists/${origin.suite}/${rel}`, origin.uri).toString();
}

/** GET a small metadata file into `dest` (a transfer under the engine's limit); returns false on 404. */
function download(ctx: SourceContext, url: string, dest: string): Promise<boolean> {
  return ctx.transfer.run(() => downloadRelease(ctx, url, dest));
}

async function downloadRelease(ctx: SourceContext, url: string, dest: string): Promise<boolean> {
  const res = await ctx.http.request(url, { side: 'upstream', signal: ctx.signal });
  if (res.status === 404 || res.status === 410) {
    await res.body.dump();
    return false;
  }
  if (res.status !== 200) await failStatus(res, 'GET', 'upstream');
  let n = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _e, cb) {
      n += chunk.length;
      cb(n > MAX_RELEASE_BYTES ? new UpstreamError(`${safeUrl(url)}: larger than ${MAX_RELEASE_BYTES} bytes, not an apt Release file`, { subject: safeUrl(url) }) : null, chunk);
    },
  });
  await pipeline(res.body, limit, createWriteStream(dest));
  return true;
}

/**
 * Fetch and verify `dists/<suite>/InRelease` (or `Release` + `Release.gpg` when there is no InRelease),
 * then parse the authenticated text. Nothing unsigned is accepted: a Release without a signature is a
 * TrustError, as apt refuses unsigned repositories by default (apt-secure(8)).
 */
export async function fetchVerifiedRelease(origin: ArchiveOrigin, ctx: SourceContext, work: string): Promise<VerifiedRelease> {
  const keyrings = await prepareKeyrings(origin.keyrings, work);
  const tag = Math.random().toString(16).slice(2);
  const inRelease = join(work, `InRelease-${tag}`);
  const inReleaseUrl = distsUrl(origin, 'InRelease');
  let verified;
  let releaseUrl: string;
  const signedBlobs: Descriptor[] = [];
  const keep = async (file: string, url: string, role: string) => {
    const d = await ctx.store.put(createReadStream(file), { subject: safeUrl(url) }, 'text/plain');
    signedBlobs.push({ ...d, annotations: { [ROLE_ANNOTATION]: role, [URL_ANNOTATION]: safeUrl(url) } });
  };
  if (await download(ctx, inReleaseUrl, inRelease)) {
    releaseUrl = inReleaseUrl;
    verified = await verifyRelease({ signed: inRelease, keyrings, url: safeUrl(inReleaseUrl), keyringLabel: origin.keyringLabel, work });
    await keep(inRelease, inReleaseUrl, 'InRelease');
  } else {
    const release = join(work, `Release-${tag}`);
    const sig = join(work, `Release.gpg-${tag}`);
    releaseUrl = distsUrl(origin, 'Release');
    if (!(await download(ctx, releaseUrl, release))) {
      throw new UpstreamError(`no InRelease or Release for suite ${origin.suite} at ${safeUrl(distsUrl(origin, ''))} (HTTP 404)`, {
        subject: safeUrl(releaseUrl),
        hint: 'check the archive URL (the folder that holds dists/) and the suite name',
      });
    }
    if (!(await download(ctx, distsUrl(origin, 'Release.gpg'), sig))) {
      throw new TrustError(`${safeUrl(releaseUrl)} is not signed (no InRelease, no Release.gpg)`, {
        subject: safeUrl(releaseUrl),
        hint: 'airgap only mirrors signed apt repositories: sign the Release upstream',
      });
    }
    verified = await verifyRelease({ signed: release, detached: sig, keyrings, url: safeUrl(releaseUrl), keyringLabel: origin.keyringLabel, work });
    await keep(release, releaseUrl, 'Release');
    await keep(sig, distsUrl(origin, 'Release.gpg'), 'Release.gpg');
  }
  const [release] = parseStanzas(verified.text);
  if (!release) throw new UpstreamError(`${safeUrl(releaseUrl)}: empty Release file`, { subject: safeUrl(releaseUrl) });
  checkValidUntil(release, safeUrl(releaseUrl));
  const named = [field(release, 'Suite'), field(release, 'Codename')].filter(Boolean);
  if (named.length && !named.includes(origin.suite)) {
    // apt warns about this too ("Conflicting distribution"): a correctly signed Release of another suite
    // served at this path, e.g. an old one replayed by a mirror.
    ctx.log.warn(`apt: ${safeUrl(releaseUrl)} is for ${named.join('/')}, not ${origin.suite}`);
  }
  const sha256 = new Map<string, { hash: string; size: number }>();
  for (const line of (field(release, 'SHA256') ?? '').split('\n')) {
    const m = /^\s*([0-9a-f]{64})\s+(\d+)\s+(\S+)\s*$/i.exec(line);
    if (m) sha256.set(m[3], { hash: m[1].toLowerCase(), size: Number(m[2]) });
  }
  if (sha256.size === 0) {
    // apt trusts a Release only with a strong hash list (docs/reference/repo-formats.md §3, [DMI]); MD5/SHA1 are not enough.
    throw new TrustError(`${safeUrl(releaseUrl)} has no SHA256 list`, { subject: safeUrl(releaseUrl), hint: 'the archive must publish SHA256 checksums in its Release' });
  }
  return {
    origin, release, sha256, signedBlobs, releaseUrl: safeUrl(releaseUrl), fingerprint: verified.fingerprint,
    byHash: /^yes$/i.test(field(release, 'Acquire-By-Hash') ?? ''),
  };
}

function checkValidUntil(release: Stanza, url: string): void {
  const until = field(release, 'Valid-Until');
  if (!until) return;
  const t = Date.parse(until);
  if (Number.isFinite(t) && t < Date.now()) {
    throw new TrustError(`${url} expired (Valid-Until: ${until})`, {
      subject: url,
      hint: 'the archive metadata is stale or replayed; use a current mirror of the archive',
    });
  }
}

/** Compressions read, in order of preference (gzip in process, xz through the xz tool, then plain). */
const COMPRESSIONS: { ext: string; decode: (s: Readable) => { out: Readable; done: Promise<unknown> } }[] = [
  {
    ext: '.gz',
    decode: (s) => {
      const gunzip = createGunzip();
      return { out: gunzip, done: pipeline(s, gunzip) };
    },
  },
  {
    ext: '.xz',
    decode: (s) => {
      const sub = execa('xz', ['-dc'], { stdin: 'pipe', stdout: 'pipe', buffer: false, stderr: 'pipe' });
      return { out: sub.stdout as Readable, done: Promise.all([pipeline(s, sub.stdin!), sub]) };
    },
  },
  { ext: '', decode: (s) => ({ out: s, done: Promise.resolve() }) },
];

/** Stanzas of a decoded index; a decoder failure (corrupt data, missing xz) is an error, never a short index. */
async function* decodedStanzas(input: Readable, decode: (s: Readable) => { out: Readable; done: Promise<unknown> }, what: string): AsyncGenerator<Stanza> {
  const { out, done } = decode(input);
  const failed = done.then(() => undefined, (e: unknown) => e);
  yield* streamStanzas(out);
  const err = await failed;
  if (err) throw new UpstreamError(`${what}: cannot decompress: ${(err as Error).message ?? err}`, { subject: what, cause: err });
}

/**
 * The stanzas of `<component>/binary-<arch>/Packages` (or `binary-all`), checked against the
 * Release SHA256 list before parsing. The compressed file goes through the content store under its
 * Release digest, so a second pack reuses it without a request. Only compressions the Release lists
 * are tried (docs/reference/repo-formats.md §3, pitfall 2); `by-hash` is preferred when the Release says so.
 * Returns undefined when the Release lists no such index.
 */
export async function packagesIndex(vr: VerifiedRelease, component: string, arch: string, ctx: SourceContext): Promise<AsyncGenerator<Stanza> | undefined> {
  const base = `${component}/binary-${arch}/Packages`;
  const listed = COMPRESSIONS.filter((c) => vr.sha256.has(base + c.ext));
  if (listed.length === 0) return undefined;
  for (const c of listed) {
    const path = base + c.ext;
    const want = vr.sha256.get(path)!;
    const digest = 'sha256:' + want.hash;
    if (!(await ctx.store.has(digest))) {
      const urls = vr.byHash ? [distsUrl(vr.origin, `${component}/binary-${arch}/by-hash/SHA256/${want.hash}`), distsUrl(vr.origin, path)] : [distsUrl(vr.origin, path)];
      let got = false;
      for (const url of urls) {
        try {
          got = Boolean(await ctx.transfer.fetch({ url, digest, size: want.size, subject: safeUrl(url), absentOn: [404] }));
        } catch (e) {
          if (e instanceof IntegrityError) {
            throw new IntegrityError(`${safeUrl(url)} does not match the SHA256 that ${vr.releaseUrl} lists for ${path}: ${e.message}`, {
              subject: safeUrl(url), hint: 'the mirror is inconsistent or tampered with; retry later or use another mirror', cause: e,
            });
          }
          throw e;
        }
        if (got) break;
      }
      // Release may list a file the mirror does not carry (Debian lists plain Packages but serves only .xz/.gz).
      if (!got) continue;
    }
    return decodedStanzas(ctx.store.open(digest), c.decode, distsUrl(vr.origin, path));
  }
  throw new UpstreamError(`none of the indexes ${listed.map((c) => base + c.ext).join(', ')} listed in ${vr.releaseUrl} could be downloaded (HTTP 404)`, {
    subject: distsUrl(vr.origin, base),
    hint: 'the mirror is incomplete or being updated; retry later',
  });
}

/**
 * Whether `binary-all/Packages` must be read as well: as apt decides it (apt-pkg/deb/debmetaindex.cc),
 * only when the Release lists `all` among its Architectures and does not say
 * `No-Support-for-Architecture-all: Packages` (then `all` packages are in every binary-<arch> index).
 */
export function separateArchAll(vr: VerifiedRelease): boolean {
  const archs = (field(vr.release, 'Architectures') ?? '').split(/\s+/);
  const noAll = /\bPackages\b/.test(field(vr.release, 'No-Support-for-Architecture-all') ?? '');
  return archs.includes('all') && !noAll;
}
