import { access, readdir } from 'node:fs/promises';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { execa } from 'execa';
import {
  type Artifact, type SourceContext, type SourceHalf, IntegrityError, InternalError, UpstreamError, UsageError, failStatus, safeUrl, withGpgHome,
} from '@airgap/core';
import { type ArchiveOrigin, type VerifiedRelease, fetchVerifiedRelease, packagesIndex, separateArchAll } from './archive.js';
import { type Candidate, PackageUniverse, resolveClosure } from './closure.js';
import { type Stanza, field } from './control.js';
import { type RelationGroup, parsePackageRequest } from './relations.js';
import { readHostSources } from './sources-list.js';
import type { AptSpec } from './spec.js';
import { checkPoolRelative } from './pool.js';
import type { DeclaredSuite } from './suites.js';

export const DEB_MEDIA_TYPE = 'application/vnd.debian.binary-package';

interface IndexOrigin {
  vr: VerifiedRelease;
  component: string;
  /** The binary-<arch> index it was read from, and its place there (to read the full stanza again). */
  indexArch: string;
  ordinal: number;
}

const NODE_TO_DEB: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: 'i386', arm: 'armhf', ppc64: 'ppc64el', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips64el: 'mips64el' };

let nativeArchCache: Promise<string> | undefined;
/** dpkg's idea of the native architecture, or Node's mapped to Debian names on a host without dpkg. */
export function nativeArchitecture(): Promise<string> {
  nativeArchCache ??= execa('dpkg', ['--print-architecture'], { reject: false, stdin: 'ignore' }).then((r) =>
    r.exitCode === 0 && String(r.stdout).trim() ? String(r.stdout).trim() : NODE_TO_DEB[process.arch] ?? process.arch,
  );
  return nativeArchCache;
}

function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** apt's own trust store, used for a host source without Signed-By (apt-secure(8)). */
async function defaultTrustedKeyrings(root: string): Promise<string[]> {
  const out: string[] = [];
  const main = join(root, 'etc', 'apt', 'trusted.gpg');
  try {
    await access(main);
    out.push(main);
  } catch {
    /* none */
  }
  try {
    const dir = join(root, 'etc', 'apt', 'trusted.gpg.d');
    out.push(...(await readdir(dir)).filter((n) => /\.(gpg|asc)$/.test(n)).sort().map((n) => join(dir, n)));
  } catch {
    /* none */
  }
  return out;
}

/** The archives + suites one manifest entry reads; [] for `url: system` on a host without apt sources. */
async function originsOf(spec: AptSpec, ctx: SourceContext, hostRoot: string): Promise<ArchiveOrigin[]> {
  const native = await nativeArchitecture();
  const manifestKeyrings = asList(spec.keyring).map((k) => (isAbsolute(k) ? k : resolvePath(ctx.manifestDir, k)));
  if (spec.url !== 'system') {
    let base: URL;
    try {
      base = new URL(spec.url.endsWith('/') ? spec.url : spec.url + '/');
    } catch {
      throw new UsageError(`apt url ${JSON.stringify(spec.url)} is neither "system" nor a URL`, { subject: spec.url });
    }
    if (!/^https?:$/.test(base.protocol)) throw new UsageError(`apt url ${safeUrl(base)}: only http and https archives are supported`, { subject: safeUrl(base) });
    if (!spec.suite) throw new UsageError(`apt entry ${safeUrl(base)} needs a suite`, { subject: safeUrl(base), hint: 'add suite: (e.g. bookworm) to the manifest entry' });
    if (!manifestKeyrings.length) {
      throw new UsageError(`apt entry ${safeUrl(base)} needs a keyring`, {
        subject: safeUrl(base),
        hint: 'add keyring: with the archive signing key; airgap never mirrors an apt repository without checking its Release signature',
      });
    }
    return [{
      uri: base.toString(), suite: spec.suite, components: spec.components ?? ['main'],
      architectures: spec.architectures ?? [native], keyrings: { files: manifestKeyrings }, keyringLabel: manifestKeyrings.join(', '),
    }];
  }
  const sources = await readHostSources(hostRoot);
  const origins: ArchiveOrigin[] = [];
  const fallback = manifestKeyrings.length ? manifestKeyrings : await defaultTrustedKeyrings(hostRoot);
  for (const s of sources) {
    if (spec.suite && s.suite !== spec.suite) continue;
    if (!/^https?:\/\//i.test(s.uri)) {
      ctx.log.warn(`apt: skipping source ${s.uri} ${s.suite} from ${s.file}: only http and https archives are mirrored`);
      continue;
    }
    if (s.suite.endsWith('/')) {
      ctx.log.warn(`apt: skipping flat repository ${s.uri} ${s.suite} from ${s.file}: give it as url/suite in the manifest`);
      continue;
    }
    const components = spec.components ? s.components.filter((c) => spec.components!.includes(c)) : s.components;
    if (!components.length) continue;
    let keyrings: ArchiveOrigin['keyrings'];
    let keyringLabel: string;
    if (s.signedBy && 'armored' in s.signedBy) {
      keyrings = s.signedBy;
      keyringLabel = `inline Signed-By of ${s.file}`;
    } else {
      const files = s.signedBy ? s.signedBy.files.map((f) => (isAbsolute(f) ? join(hostRoot, f) : f)) : fallback;
      if (!files.length) throw new UsageError(`apt source ${s.uri} ${s.suite} (${s.file}) has no Signed-By and the host has no trusted keys`, { subject: s.file, hint: 'add keyring: to the manifest entry' });
      if (files.some((f) => !f.includes('/'))) {
        throw new UsageError(`apt source ${s.uri} ${s.suite} (${s.file}): Signed-By with key fingerprints is not supported`, { subject: s.file, hint: 'give the keyring file in keyring: of the manifest entry' });
      }
      keyrings = { files };
      keyringLabel = files.join(', ');
    }
    const uri = s.uri.endsWith('/') ? s.uri : s.uri + '/';
    origins.push({ uri, suite: s.suite, components, architectures: spec.architectures ?? s.architectures ?? [native], keyrings, keyringLabel });
  }
  return origins;
}

/** apt's default pin priority of a Release (apt_preferences(5)): NotAutomatic suites only when nothing else fits. */
function pinPriority(vr: VerifiedRelease): number {
  if (!/^yes$/i.test(field(vr.release, 'NotAutomatic') ?? '')) return 500;
  return /^yes$/i.test(field(vr.release, 'ButAutomaticUpgrades') ?? '') ? 100 : 1;
}

function describe(origins: ArchiveOrigin[]): string {
  return origins.map((o) => `${safeUrl(o.uri)} ${o.suite} [${o.components.join(' ')}] (${o.architectures.join(', ')})`).join('; ');
}

function toArtifact(c: Candidate<IndexOrigin>, stanza: Stanza, architectures: string[], suites: DeclaredSuite[]): Artifact {
  const { vr, component } = c.origin;
  const where = `${c.name} ${c.version} (${c.arch}) from ${vr.releaseUrl}`;
  const sha = field(stanza, 'SHA256')?.toLowerCase();
  const size = Number(field(stanza, 'Size'));
  const filename = field(stanza, 'Filename');
  if (!sha || !/^[0-9a-f]{64}$/.test(sha) || !Number.isSafeInteger(size) || !filename) {
    throw new UpstreamError(`apt package ${where} has no usable Filename, Size and SHA256 in its Packages stanza`, { subject: where, hint: 'airgap only takes packages whose SHA256 the signed index lists' });
  }
  checkPoolRelative(filename, where);
  const url = new URL(filename, vr.origin.uri).toString();
  const digest = 'sha256:' + sha;
  return {
    kind: 'apt',
    name: c.name,
    version: c.version,
    platform: c.arch,
    digest,
    blobs: [{ mediaType: DEB_MEDIA_TYPE, digest, size }, ...vr.signedBlobs],
    upstream: {
      url: safeUrl(url),
      integrity: { sha256: sha },
      verified: `${vr.releaseUrl} signature (gpgv, key ${vr.fingerprint}, keyring ${vr.origin.keyringLabel}) → ${component}/binary-${c.arch === 'all' ? architectures[0] : c.arch}/Packages SHA256 from Release → .deb SHA256 while streaming`,
    },
    meta: {
      control: Object.fromEntries(stanza),
      component,
      suite: vr.origin.suite,
      architectures,
      filename,
      release: vr.releaseUrl,
      suites,
    },
  };
}

/**
 * The whole Packages stanza of every selected candidate, read again from its index (now in the
 * content store, so no request is made) by its place there, each index once.
 */
async function fullStanzas(selected: Candidate<IndexOrigin>[], ctx: SourceContext): Promise<Map<Candidate<IndexOrigin>, Stanza>> {
  const byIndex = new Map<string, { vr: VerifiedRelease; component: string; arch: string; want: Map<number, Candidate<IndexOrigin>> }>();
  const releases = new Map<VerifiedRelease, number>();
  for (const c of selected) {
    const { vr, component, indexArch, ordinal } = c.origin;
    if (!releases.has(vr)) releases.set(vr, releases.size);
    const key = `${releases.get(vr)}\0${component}\0${indexArch}`;
    let entry = byIndex.get(key);
    if (!entry) byIndex.set(key, (entry = { vr, component, arch: indexArch, want: new Map() }));
    entry.want.set(ordinal, c);
  }
  const out = new Map<Candidate<IndexOrigin>, Stanza>();
  for (const { vr, component, arch, want } of byIndex.values()) {
    const index = await packagesIndex(vr, component, arch, ctx);
    let ordinal = 0;
    for await (const stanza of index!) {
      const c = want.get(ordinal++);
      if (c && field(stanza, 'Package')?.toLowerCase() === c.name && field(stanza, 'Version') === c.version) out.set(c, stanza);
    }
  }
  const lost = selected.find((c) => !out.has(c));
  if (lost) throw new InternalError(`apt: the index of ${lost.name} ${lost.version} changed in the cache while resolving`, { hint: 'run pack again' });
  return out;
}

/**
 * The apt source half (docs/manifest.md): verified Release → verified Packages → closure → one artifact per
 * .deb. `hostRoot` is where `url: system` reads `etc/apt` from (tests point it at a fixture tree).
 */
export function aptSource(options: { hostRoot?: string } = {}): SourceHalf<AptSpec> {
  const hostRoot = options.hostRoot ?? '/';
  return {
    async resolve(spec, ctx) {
      const origins = await originsOf(spec, ctx, hostRoot);
      if (origins.length === 0) {
        if (spec.url === 'system') {
          ctx.log.warn(`apt: no usable apt sources on this host (${join(hostRoot, 'etc/apt')}${spec.suite ? `, suite ${spec.suite}` : ''}); entry for ${spec.packages.join(', ')} skipped`);
          return [];
        }
      }
      const roots: RelationGroup[] = spec.packages.map((p) => {
        try {
          return parsePackageRequest(p);
        } catch (e) {
          throw new UsageError(`apt package ${JSON.stringify(p)} in the manifest: ${(e as Error).message}`, { subject: p, hint: 'write it like nginx, "curl (>= 7.88)" or nginx=1.22.1-9' });
        }
      });
      const architectures = [...new Set(origins.flatMap((o) => o.architectures))];
      const universe = new PackageUniverse<IndexOrigin>();
      // Keyrings and gpgv's private home for the Release checks, removed afterwards (core gpg wrapper).
      return withGpgHome('airgap-apt-', async (work) => {
        for (const origin of origins) {
          const vr = await fetchVerifiedRelease(origin, ctx, work);
          const archs = separateArchAll(vr) ? [...origin.architectures, 'all'] : origin.architectures;
          const priority = pinPriority(vr);
          for (const component of origin.components) {
            let found = false;
            for (const arch of archs) {
              const index = await packagesIndex(vr, component, arch, ctx);
              if (!index) continue;
              found = true;
              let ordinal = 0;
              for await (const stanza of index) universe.add(stanza, { vr, component, indexArch: arch, ordinal: ordinal++ }, priority);
            }
            if (!found) {
              const msg = `${vr.releaseUrl} lists no Packages index for component ${component} and architectures ${origin.architectures.join(', ')}`;
              if (spec.url === 'system') ctx.log.warn(`apt: ${msg}; skipped`);
              else throw new UsageError(msg, { subject: vr.releaseUrl, hint: 'check components and architectures of the manifest entry' });
            }
          }
          ctx.log.debug(`apt: ${vr.releaseUrl} verified (key ${vr.fingerprint}); ${universe.size} package versions known`);
        }
        const closure = resolveClosure(universe, roots, {
          architectures,
          dependencies: spec.dependencies ?? true,
          alternatives: spec.alternatives ?? 'first',
          exclude: new Set((spec.exclude ?? []).map((n) => n.toLowerCase())),
          where: describe(origins),
        });
        const stanzas = await fullStanzas(closure, ctx);
        // Every suite the entry reads, so the mirror gets a Release for each even if the closure used none of it.
        const suites = origins.map((o) => ({ suite: o.suite, components: o.components, architectures: o.architectures }));
        return closure.map((c) => toArtifact(c, stanzas.get(c)!, architectures, suites));
      });
    },

    async fetch(artifact, ctx) {
      for (const b of artifact.blobs.slice(1)) {
        if (!(await ctx.store.has(b.digest))) throw new InternalError(`apt: upstream Release ${b.annotations?.['org.airgap.apt.url'] ?? b.digest} left the cache between resolve and fetch`, { hint: 'run pack again' });
      }
      const deb = artifact.blobs[0];
      if (await ctx.store.has(deb.digest)) return;
      const url = artifact.upstream.url;
      const what = `${artifact.name}_${artifact.version}_${artifact.platform}.deb (${url})`;
      try {
        await ctx.transfer.fetch({
          url, digest: deb.digest, size: deb.size, mediaType: DEB_MEDIA_TYPE, subject: what,
          statusHint: (status) => (status === 404 ? 'the archive no longer carries this version: pack again to pick up the current index' : undefined),
        });
      } catch (e) {
        if (e instanceof IntegrityError) {
          throw new IntegrityError(`${what} does not match the SHA256 and size its signed Packages index lists: ${e.message}`, {
            subject: url,
            hint: 'the mirror served different bytes than the archive signed; do not use this mirror until it is explained',
            cause: e,
          });
        }
        throw e;
      }
    },
  };
}
