import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore, IntegrityError, TrustError } from '@airgap/core';
import { apt, type AptSpec } from '@airgap/apt';
import { startStaticServer, type StaticServer } from '../harness/index.js';
import { type AptWorld, type GpgKey, type Upstream, buildDeb, indexUpstream, startAptWorld } from './upstream.js';
import { pack, publishContext, sourceContext, unpack } from './pipeline.js';
import { aptGet } from './apt-get.js';
import { gpgvCheck } from '../harness/gpgv.js';

let dir: string;
let upstream: Upstream;
let server: StaticServer;
let upstreamKey: GpgKey;
let otherKey: GpgKey;
let insideKey: GpgKey;
let arch: string;

let world: AptWorld;

beforeAll(async () => {
  world = await startAptWorld('airgap-apt-', ['upstream', 'other', 'inside']);
  ({ dir, arch, upstream, server } = world);
  ({ upstream: upstreamKey, other: otherKey, inside: insideKey } = world.keys as Record<'upstream' | 'other' | 'inside', GpgKey>);
});

afterAll(async () => {
  await world?.close();
});

const spec = (o: Partial<AptSpec> = {}): AptSpec => ({
  url: server.url, suite: 'stable', components: ['main'], architectures: [arch], keyring: upstreamKey.keyring, packages: ['webapp'], ...o,
});

const sha256 = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');

describe('apt source against a signed upstream made by dpkg-deb and apt-ftparchive', () => {
  it('resolves the closure: Pre-Depends, versioned Depends, first alternative, both providers of a virtual package, :any, arch all', async () => {
    const ctx = sourceContext(join(dir, 'cache-resolve'), dir, true);
    const artifacts = await apt.source.resolve(spec(), ctx);
    expect(artifacts.map((a) => `${a.name}=${a.version}/${a.platform}`)).toEqual([
      `base-init=1/${arch}`, `httpd-alt=1/${arch}`, `libc-fake=2.36/${arch}`, `libweb=2.1-1/${arch}`, `srv-a=1/${arch}`, `srv-b=1/${arch}`,
      `webapp=1.0-1/${arch}`, 'webapp-data=1.0-1/all',
    ]);
    const web = artifacts.find((a) => a.name === 'webapp')!;
    expect(web.digest).toBe('sha256:' + (await sha256(upstream.debs[`webapp_1.0-1_${arch}`])));
    expect(web.blobs[1].annotations?.['org.airgap.apt.role']).toBe('InRelease');
    expect(web.meta).toMatchObject({ component: 'main', suite: 'stable', control: { Package: 'webapp', Version: '1.0-1', 'Pre-Depends': 'base-init' } });
    expect(web.upstream.verified).toContain(upstreamKey.fingerprint);
    // The Release says Acquire-By-Hash: yes, so the index came from by-hash/.
    expect(server.requests.some((r) => r.path.includes(`/binary-${arch}/by-hash/SHA256/`))).toBe(true);
    // Dry run: metadata only, no .deb downloaded.
    expect(server.requests.some((r) => r.path.endsWith('.deb'))).toBe(false);
  });

  it('with the wrong keyring refuses the Release, naming the Release file and the keyring (exit 3)', async () => {
    const ctx = sourceContext(join(dir, 'cache-wrongkey'), dir);
    const err = await apt.source.resolve(spec({ keyring: otherKey.keyring }), ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrustError);
    expect((err as TrustError).exitCode).toBe(3);
    expect((err as Error).message).toContain(`${server.url}dists/stable/InRelease`);
    expect((err as Error).message).toContain(otherKey.keyring);
    expect((err as Error).message).toMatch(/signed by key [0-9A-F]+, which the keyring does not hold/);
  });

  it('refuses a Release whose signature no longer matches its text, also via Release + Release.gpg', async () => {
    const bad = join(dir, 'tampered');
    await execa('cp', ['-a', upstream.root, bad]);
    const inRelease = join(bad, 'dists/stable/InRelease');
    await writeFile(inRelease, (await readFile(inRelease, 'utf8')).replace('Origin: airgap-test', 'Origin: airgap-evil'));
    const s = await startStaticServer(bad);
    try {
      const err = await apt.source.resolve({ ...spec(), url: s.url }, sourceContext(join(dir, 'cache-tampered'), dir)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrustError);
      expect((err as Error).message).toMatch(/InRelease does not verify.*BADSIG/);
      await rm(inRelease);
      const release = join(bad, 'dists/stable/Release');
      await writeFile(release, (await readFile(release, 'utf8')) + 'X-Evil: 1\n');
      const err2 = await apt.source.resolve({ ...spec(), url: s.url }, sourceContext(join(dir, 'cache-tampered2'), dir)).catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(TrustError);
      expect((err2 as Error).message).toContain(`${s.url}dists/stable/Release does not verify`);
    } finally {
      await s.close();
    }
  });

  it('fails a .deb whose bytes differ from its Packages SHA256, naming it', async () => {
    const bad = join(dir, 'bad-deb');
    await execa('cp', ['-a', upstream.root, bad]);
    const s = await startStaticServer(bad);
    try {
      const ctx = sourceContext(join(dir, 'cache-bad-deb'), dir);
      const artifacts = await apt.source.resolve({ ...spec(), url: s.url }, ctx);
      // Swap in different bytes after the index was signed: a rebuilt package with another payload.
      const other = await buildDeb(join(dir, 'build-evil'), join(dir, 'evil'), { name: 'libweb', version: '2.1-1', arch, depends: 'evil' });
      await copyFile(other, join(bad, `pool/main/libweb_2.1-1_${arch}.deb`));
      const libweb = artifacts.find((a) => a.name === 'libweb')!;
      const err = await apt.source.fetch(libweb, ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toContain(`libweb_2.1-1_${arch}.deb`);
      expect((err as Error).message).toMatch(/does not match the SHA256/);
      expect(await ctx.store.has(libweb.digest)).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('reads an archive that publishes only Packages.xz, without by-hash (as Debian does)', async () => {
    const xz = join(dir, 'xz-only');
    await execa('cp', ['-a', upstream.root, xz]);
    await indexUpstream(xz, 'stable', arch, upstreamKey, { xzOnly: true });
    const s = await startStaticServer(xz);
    try {
      const artifacts = await apt.source.resolve({ ...spec(), url: s.url }, sourceContext(join(dir, 'cache-xz'), dir, true));
      expect(artifacts.map((a) => a.name)).toEqual(['base-init', 'httpd-alt', 'libc-fake', 'libweb', 'srv-a', 'srv-b', 'webapp', 'webapp-data']);
      expect(s.requests.map((r) => r.path)).toContain(`/dists/stable/main/binary-${arch}/Packages.xz`);
      expect(s.requests.some((r) => r.path.includes('by-hash'))).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('falls back to the plain index path when the mirror lacks by-hash/', async () => {
    const plain = join(dir, 'no-by-hash');
    await execa('cp', ['-a', upstream.root, plain]);
    await rm(join(plain, `dists/stable/main/binary-${arch}/by-hash`), { recursive: true });
    const s = await startStaticServer(plain);
    try {
      const artifacts = await apt.source.resolve({ ...spec(), url: s.url }, sourceContext(join(dir, 'cache-no-by-hash'), dir, true));
      expect(artifacts.map((a) => a.name)).toContain('webapp');
      const paths = s.requests.map((r) => `${r.path} ${r.method}`);
      expect(paths.some((p) => p.includes('/by-hash/SHA256/'))).toBe(true);
      expect(paths).toContain(`/dists/stable/main/binary-${arch}/Packages.gz GET`);
    } finally {
      await s.close();
    }
  });

  it('fails an index whose bytes differ from the Release SHA256', async () => {
    const bad = join(dir, 'bad-index');
    await execa('cp', ['-a', upstream.root, bad]);
    const bin = join(bad, `dists/stable/main/binary-${arch}`);
    for (const h of await readdir(join(bin, 'by-hash/SHA256'))) await writeFile(join(bin, 'by-hash/SHA256', h), 'Package: evil\n');
    const s = await startStaticServer(bad);
    try {
      const err = await apt.source.resolve({ ...spec(), url: s.url }, sourceContext(join(dir, 'cache-bad-index'), dir)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toMatch(/does not match the SHA256 that .*InRelease lists for main\/binary-.*\/Packages\.gz/);
    } finally {
      await s.close();
    }
  });
});

describe('apt dir mirror', () => {
  it('pack → publish to dir: → the real apt-get installs (download-only) from the mirror signed by the inside key', async () => {
    const cache = join(dir, 'cache-e2e');
    const ctx = sourceContext(cache, dir);
    const artifacts = await pack(spec(), ctx);
    const mirror = join(dir, 'mirror');
    const target = { type: 'dir' as const, name: 'mirror', path: mirror, config: { type: 'dir' as const, path: mirror, apt: { gpgKey: insideKey.secretKey } } };
    const store = new ContentStore(cache);
    const first = await unpack(artifacts, apt.publish.dir, publishContext(store, target));
    expect(Object.values(first.actions).every((a) => a === 'pushed')).toBe(true);
    const suiteDir = join(mirror, 'apt/dists/stable');
    const releaseBefore = await readFile(join(suiteDir, 'Release'), 'utf8');
    const packagesBefore = await readFile(join(suiteDir, `main/binary-${arch}/Packages`), 'utf8');
    expect(releaseBefore).toMatch(new RegExp(`^ [0-9a-f]{64} +\\d+ main/binary-${arch}/Packages.gz$`, 'm'));
    // The mirror's InRelease verifies with the inside key (and not with the upstream's).
    expect((await gpgvCheck(insideKey.keyring, join(suiteDir, 'InRelease'))).exitCode).toBe(0);
    expect((await gpgvCheck(upstreamKey.keyring, join(suiteDir, 'InRelease'))).exitCode).not.toBe(0);
    expect((await gpgvCheck(insideKey.keyring, join(suiteDir, 'Release.gpg'), join(suiteDir, 'Release'))).exitCode).toBe(0);

    // A re-run finds everything present and regenerates the same indexes.
    const again = await unpack(artifacts, apt.publish.dir, publishContext(store, target));
    expect(Object.values(again.actions).every((a) => a === 'present')).toBe(true);
    expect(await readFile(join(suiteDir, 'Release'), 'utf8')).toBe(releaseBefore);
    expect(await readFile(join(suiteDir, `main/binary-${arch}/Packages`), 'utf8')).toBe(packagesBefore);

    const served = await startStaticServer(mirror);
    try {
      const client = join(dir, 'apt-client');
      await mkdir(client, { recursive: true });
      const list = join(client, 'sources.list');
      await writeFile(list, `deb [signed-by=${join(mirror, 'apt/airgap-archive-keyring.gpg')}] ${served.url}apt stable main\n`);
      const update = await aptGet(client, list, arch, ['update']);
      expect(update.stderr).not.toMatch(/^(W|E):/m);
      expect(update.exitCode).toBe(0);
      const install = await aptGet(client, list, arch, ['install', '--download-only', 'webapp']);
      expect(install.exitCode, install.stderr + install.stdout).toBe(0);
      const fetched = (await readdir(join(client, 'cache/archives'))).filter((f) => f.endsWith('.deb')).sort();
      expect(fetched).toEqual(expect.arrayContaining([`webapp_1.0-1_${arch}.deb`, `libweb_2.1-1_${arch}.deb`, `base-init_1_${arch}.deb`, 'webapp-data_1.0-1_all.deb', `httpd-alt_1_${arch}.deb`]));
      for (const f of fetched) {
        const key = f.replace(/\.deb$/, '');
        expect(await sha256(join(client, 'cache/archives', f))).toBe(await sha256(upstream.debs[key]));
      }
      // Every request went to the mirror; the upstream server saw none from apt-get.
      expect(served.requests.some((r) => r.path === '/apt/dists/stable/InRelease')).toBe(true);
      expect(server.requests.some((r) => (r.headers['user-agent'] ?? '').includes('Debian APT'))).toBe(false);
    } finally {
      await served.close();
    }
  });

  it('keeps earlier packages in the indexes when a later bundle adds more, and without a key writes an unsigned Release', async () => {
    const cache = join(dir, 'cache-incr');
    const ctx = sourceContext(cache, dir);
    const mirror = join(dir, 'mirror-unsigned');
    const target = { type: 'dir' as const, name: 'plain', path: mirror, config: { type: 'dir' as const, path: mirror } };
    const store = new ContentStore(cache);
    await unpack(await pack(spec({ packages: ['lonely'] }), ctx), apt.publish.dir, publishContext(store, target));
    await unpack(await pack(spec({ packages: ['httpd-fallback'] }), ctx), apt.publish.dir, publishContext(store, target));
    const packages = await readFile(join(mirror, `apt/dists/stable/main/binary-${arch}/Packages`), 'utf8');
    expect(packages.match(/^Package: .*$/gm)).toEqual(['Package: httpd-fallback', 'Package: lonely']);
    expect(packages).toContain(`Filename: pool/main/l/lonely/lonely_1_${arch}.deb`);
    await expect(readFile(join(mirror, 'apt/dists/stable/InRelease'))).rejects.toThrow();
    // The unsigned mirror works for a client that marks it trusted.
    const served = await startStaticServer(mirror);
    try {
      const client = join(dir, 'apt-client-unsigned');
      await mkdir(client, { recursive: true });
      const list = join(client, 'sources.list');
      await writeFile(list, `deb [trusted=yes] ${served.url}apt stable main\n`);
      expect((await aptGet(client, list, arch, ['update'])).exitCode).toBe(0);
      const install = await aptGet(client, list, arch, ['install', '--download-only', 'lonely']);
      expect(install.exitCode, install.stderr).toBe(0);
    } finally {
      await served.close();
    }
  });
  it('never overwrites a different file at a package\'s pool path, and says which', async () => {
    const cache = join(dir, 'cache-conflict');
    const ctx = sourceContext(cache, dir);
    const mirror = join(dir, 'mirror-conflict');
    const target = { type: 'dir' as const, name: 'm', path: mirror, config: { type: 'dir' as const, path: mirror } };
    const [lonely] = await pack(spec({ packages: ['lonely'] }), ctx);
    const path = join(mirror, 'apt', `pool/main/l/lonely/lonely_1_${arch}.deb`);
    await mkdir(join(mirror, 'apt/pool/main/l/lonely'), { recursive: true });
    await writeFile(path, 'not the package');
    const err = await apt.publish.dir.exists(lonely, publishContext(new ContentStore(cache), target)).catch((e: unknown) => e);
    expect((err as { exitCode?: number }).exitCode).toBe(1);
    expect((err as Error).message).toContain(`${path} already exists with different content`);
    expect(await readFile(path, 'utf8')).toBe('not the package');
  });
});

describe('apt url: system', () => {
  it('reads the host sources (deb822 with Signed-By) from the given root and verifies with that keyring', async () => {
    const { aptSource } = await import('@airgap/apt');
    const host = join(dir, 'host');
    await mkdir(join(host, 'etc/apt/sources.list.d'), { recursive: true });
    await mkdir(join(host, 'usr/share/keyrings'), { recursive: true });
    await copyFile(upstreamKey.keyring, join(host, 'usr/share/keyrings/upstream.gpg'));
    await writeFile(join(host, 'etc/apt/sources.list.d/test.sources'), `Types: deb\nURIs: ${server.url}\nSuites: stable\nComponents: main\nSigned-By: /usr/share/keyrings/upstream.gpg\n`);
    // sources.list holds only a comment: it adds no source.
    await writeFile(join(host, 'etc/apt/sources.list'), '# nothing here\n');
    const warnings: string[] = [];
    const ctx = { ...sourceContext(join(dir, 'cache-system'), dir, true), log: { info() {}, debug() {}, warn: (m: string) => warnings.push(m) } };
    const artifacts = await aptSource({ hostRoot: host }).resolve({ url: 'system', architectures: [arch], packages: ['webapp'] }, ctx);
    expect(artifacts.map((a) => a.name)).toContain('webapp-data');
    expect(artifacts[0].upstream.verified).toContain(join(host, 'usr/share/keyrings/upstream.gpg'));
    expect(warnings).toEqual([]);

    // Signed-By names a key that did not sign this archive: refused, naming the Release and the keyring.
    await copyFile(otherKey.keyring, join(host, 'usr/share/keyrings/upstream.gpg'));
    const err = await aptSource({ hostRoot: host }).resolve({ url: 'system', architectures: [arch], packages: ['webapp'] }, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrustError);
    expect((err as Error).message).toContain(`${server.url}dists/stable/InRelease`);
  });

  it('on a host without apt sources warns and returns nothing', async () => {
    const { aptSource } = await import('@airgap/apt');
    const host = join(dir, 'empty-host');
    await mkdir(join(host, 'etc/apt'), { recursive: true });
    const warnings: string[] = [];
    const ctx = { ...sourceContext(join(dir, 'cache-empty'), dir, true), log: { info() {}, debug() {}, warn: (m: string) => warnings.push(m) } };
    expect(await aptSource({ hostRoot: host }).resolve({ url: 'system', packages: ['curl'] }, ctx)).toEqual([]);
    expect(warnings.join('\n')).toMatch(/no usable apt sources on this host .*entry for curl skipped/);
  });

  it('a URL entry without keyring or suite is a usage error (exit 2)', async () => {
    const ctx = sourceContext(join(dir, 'cache-usage'), dir, true);
    const noKey = await apt.source.resolve({ url: server.url, suite: 'stable', packages: ['webapp'] }, ctx).catch((e: unknown) => e);
    expect((noKey as { exitCode?: number }).exitCode).toBe(2);
    expect((noKey as Error).message).toMatch(/needs a keyring/);
    const noSuite = await apt.source.resolve({ url: server.url, keyring: upstreamKey.keyring, packages: ['webapp'] }, ctx).catch((e: unknown) => e);
    expect((noSuite as Error).message).toMatch(/needs a suite/);
    const missing = await apt.source.resolve(spec({ packages: ['no-such-package'] }), ctx).catch((e: unknown) => e);
    expect((missing as { exitCode?: number }).exitCode).toBe(2);
    expect((missing as Error).message).toMatch(/no-such-package is not in/);
  });
});
