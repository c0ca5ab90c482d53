import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { type StaticServer, startStaticServer, tempDir } from '../harness/index.js';

/**
 * A hermetic apt archive made by the real tools: `.deb`s built with `dpkg-deb --build`, indexed with
 * `apt-ftparchive packages` and `apt-ftparchive release`, the Release signed with a throwaway gpg key
 * (`%no-protection` batch key in an isolated GNUPGHOME) as InRelease and Release.gpg.
 */

export interface GpgKey {
  home: string;
  fingerprint: string;
  /** Binary public keyring (what `keyring:` and `signed-by=` take). */
  keyring: string;
  /** Armored secret key export (what `targets.<t>.apt.gpgKey` takes). */
  secretKey: string;
}

export async function makeGpgKey(dir: string, name: string): Promise<GpgKey> {
  const home = join(dir, `gnupg-${name}`);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const gpg = (args: string[], input?: string) => execa('gpg', ['--batch', '--no-options', '--homedir', home, ...args], { input: input ?? '' });
  await gpg(['--gen-key'], `%no-protection\nKey-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: airgap test ${name}\nName-Email: ${name}@test.invalid\nExpire-Date: 0\n%commit\n`);
  const list = await gpg(['--with-colons', '--list-secret-keys']);
  const fingerprint = /^fpr:(?:[^:]*:){8}([0-9A-F]+):/m.exec(String(list.stdout))![1];
  const keyring = join(dir, `${name}.gpg`);
  const secretKey = join(dir, `${name}.secret.asc`);
  await gpg(['--yes', '--output', keyring, '--export', fingerprint]);
  await gpg(['--yes', '--armor', '--output', secretKey, '--export-secret-keys', fingerprint]);
  return { home, fingerprint, keyring, secretKey };
}

export async function stopGpgAgent(key: GpgKey): Promise<void> {
  await execa('gpgconf', ['--homedir', key.home, '--kill', 'gpg-agent'], { reject: false });
}

export interface DebSpec {
  name: string;
  version: string;
  arch: string;
  depends?: string;
  preDepends?: string;
  provides?: string;
  multiArch?: string;
}

/** Builds one .deb with dpkg-deb from a control file and a small payload; returns its path. */
export async function buildDeb(work: string, outDir: string, d: DebSpec): Promise<string> {
  const tree = join(work, `${d.name}_${d.version}_${d.arch}`);
  await mkdir(join(tree, 'DEBIAN'), { recursive: true });
  await mkdir(join(tree, 'usr/share/doc', d.name), { recursive: true });
  await writeFile(join(tree, 'usr/share/doc', d.name, 'README'), `${d.name} ${d.version} test payload\n`);
  const fields = [
    `Package: ${d.name}`, `Version: ${d.version}`, `Architecture: ${d.arch}`, 'Maintainer: airgap tests <tests@test.invalid>',
    d.preDepends && `Pre-Depends: ${d.preDepends}`, d.depends && `Depends: ${d.depends}`, d.provides && `Provides: ${d.provides}`,
    d.multiArch && `Multi-Arch: ${d.multiArch}`, 'Section: misc', 'Priority: optional',
    `Description: ${d.name} test package\n built by dpkg-deb for the airgap apt tests`,
  ].filter(Boolean);
  await writeFile(join(tree, 'DEBIAN/control'), fields.join('\n') + '\n');
  await mkdir(outDir, { recursive: true });
  const out = join(outDir, `${d.name}_${d.version.replace(/^\d+:/, '')}_${d.arch}.deb`);
  await execa('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, out]);
  return out;
}

export interface Upstream {
  root: string;
  suite: string;
  arch: string;
  debs: Record<string, string>;
  key: GpgKey;
}

export async function nativeArch(): Promise<string> {
  return String((await execa('dpkg', ['--print-architecture'])).stdout).trim();
}

/** The fixture set of issue 7: Depends, Pre-Depends, an alternative, a virtual package with two providers, a versioned relation, arch all. */
export function fixturePackages(arch: string): DebSpec[] {
  return [
    { name: 'webapp', version: '1.0-1', arch, preDepends: 'base-init', depends: 'libweb (>= 2.0), httpd-alt | httpd-fallback, www-server, webapp-data (= 1.0-1)' },
    { name: 'base-init', version: '1', arch },
    { name: 'libweb', version: '1.5-1', arch },
    { name: 'libweb', version: '2.1-1', arch, depends: 'libc-fake:any' },
    { name: 'libc-fake', version: '2.36', arch, multiArch: 'allowed' },
    { name: 'httpd-alt', version: '1', arch },
    { name: 'httpd-fallback', version: '1', arch },
    { name: 'srv-a', version: '1', arch, provides: 'www-server' },
    { name: 'srv-b', version: '1', arch, provides: 'www-server' },
    { name: 'webapp-data', version: '1.0-1', arch: 'all' },
    { name: 'lonely', version: '1', arch },
  ];
}

/**
 * Lays out `dists/<suite>/main/binary-<arch>/Packages{,.gz}` + `by-hash/` and `pool/main/`, writes the
 * Release with apt-ftparchive (Acquire-By-Hash: yes) and signs it with `key`.
 */
export async function buildUpstream(dir: string, key: GpgKey, arch: string, specs = fixturePackages(arch)): Promise<Upstream> {
  const root = join(dir, 'archive');
  const suite = 'stable';
  const debs: Record<string, string> = {};
  for (const d of specs) debs[`${d.name}_${d.version}_${d.arch}`] = await buildDeb(join(dir, 'build'), join(root, 'pool/main'), d);
  await indexUpstream(root, suite, arch, key);
  return { root, suite, arch, debs, key };
}

/** `xzOnly`: the index only as Packages.xz, without by-hash, as Debian's own main archive publishes it. */
export async function indexUpstream(root: string, suite: string, arch: string, key: GpgKey, opts: { xzOnly?: boolean } = {}): Promise<void> {
  const bin = join(root, 'dists', suite, 'main', `binary-${arch}`);
  await rm(bin, { recursive: true, force: true });
  await mkdir(bin, { recursive: true });
  const packages = String((await execa('apt-ftparchive', ['packages', 'pool/main'], { cwd: root })).stdout) + '\n';
  if (opts.xzOnly) {
    await execa('xz', ['-c'], { input: packages, stdout: { file: join(bin, 'Packages.xz') } });
  } else {
    await writeFile(join(bin, 'Packages'), packages);
    await writeFile(join(bin, 'Packages.gz'), gzipSync(packages));
    await mkdir(join(bin, 'by-hash/SHA256'), { recursive: true });
    for (const f of ['Packages', 'Packages.gz']) {
      const h = createHash('sha256').update(await readFile(join(bin, f))).digest('hex');
      await copyFile(join(bin, f), join(bin, 'by-hash/SHA256', h));
    }
  }
  const dists = join(root, 'dists', suite);
  for (const f of ['Release', 'InRelease', 'Release.gpg']) await rm(join(dists, f), { force: true });
  const o = (k: string, v: string) => ['-o', `APT::FTPArchive::Release::${k}=${v}`];
  const release = await execa('apt-ftparchive', [
    ...o('Origin', 'airgap-test'), ...o('Suite', suite), ...o('Codename', suite), ...o('Architectures', arch),
    ...o('Components', 'main'), ...(opts.xzOnly ? [] : o('Acquire-By-Hash', 'yes')), 'release', join('dists', suite),
  ], { cwd: root });
  await writeFile(join(dists, 'Release'), String(release.stdout) + '\n');
  const gpg = (args: string[]) => execa('gpg', ['--batch', '--no-options', '--homedir', key.home, '--yes', '--local-user', key.fingerprint, ...args]);
  await gpg(['--clearsign', '--output', join(dists, 'InRelease'), join(dists, 'Release')]);
  await gpg(['--armor', '--detach-sign', '--output', join(dists, 'Release.gpg'), join(dists, 'Release')]);
}

/** What every apt test file starts from: a temp folder, gpg keys, the signed archive and a server for it. */
export interface AptWorld {
  dir: string;
  arch: string;
  /** By the names asked for; `upstream` signs the archive. */
  keys: Record<string, GpgKey>;
  upstream: Upstream;
  server: StaticServer;
  /** Stops the server and every key's gpg-agent (the folder goes with the harness's tempDir). */
  close(): Promise<void>;
}

/** The archive of fixturePackages, signed by the key named `upstream`, served on 127.0.0.1; `extraSuites` index the same pool again. */
export async function startAptWorld(prefix: string, keyNames: string[], opts: { extraSuites?: string[] } = {}): Promise<AptWorld> {
  if (!keyNames.includes('upstream')) throw new Error('startAptWorld: one key must be named upstream (it signs the archive)');
  const dir = await tempDir(prefix);
  const arch = await nativeArch();
  const made = await Promise.all(keyNames.map((n) => makeGpgKey(dir, n)));
  const keys = Object.fromEntries(keyNames.map((n, i) => [n, made[i]!]));
  const upstream = await buildUpstream(dir, keys.upstream!, arch);
  for (const s of opts.extraSuites ?? []) await indexUpstream(upstream.root, s, arch, keys.upstream!);
  const server = await startStaticServer(upstream.root);
  return {
    dir, arch, keys, upstream, server,
    async close() {
      await server.close();
      for (const k of made) await stopGpgAgent(k);
    },
  };
}
