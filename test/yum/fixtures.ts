/**
 * Hermetic YUM upstreams for the tests, made by the real tools: RPMs by `rpmbuild -bb` from spec files
 * written here (no compilation: %install writes a file or two), repodata by `createrepo_c` (and
 * `modifyrepo_c` for modules), `repomd.xml.asc` by `gpg --detach-sign --armor` with a throwaway key in
 * an isolated GNUPGHOME.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cachedBuild } from '../harness/fixture-cache.js';

export interface RpmDef {
  name: string;
  version: string;
  release?: string;
  epoch?: number;
  arch: 'noarch' | 'x86_64' | 'i686';
  requires?: string[];
  provides?: string[];
  /** Absolute path → content. */
  files: Record<string, string>;
}

function specText(d: RpmDef): string {
  const dirs = [...new Set(Object.keys(d.files).map((f) => f.slice(0, f.lastIndexOf('/'))))];
  return [
    `Name: ${d.name}`,
    `Version: ${d.version}`,
    `Release: ${d.release ?? '1'}`,
    ...(d.epoch !== undefined ? [`Epoch: ${d.epoch}`] : []),
    `Summary: ${d.name} test package`,
    'License: MIT',
    ...(d.arch === 'noarch' ? ['BuildArch: noarch'] : []),
    // Only the relations written here: no automatic /bin/sh or library requirements.
    'AutoReqProv: no',
    ...(d.requires ?? []).map((r) => `Requires: ${r}`),
    ...(d.provides ?? []).map((p) => `Provides: ${p}`),
    '%global debug_package %{nil}',
    '%global _build_id_links none',
    '%description',
    `${d.name} is a fixture of the airgap yum tests.`,
    '%install',
    ...dirs.map((x) => `mkdir -p %{buildroot}${x}`),
    ...Object.entries(d.files).map(([f, c]) => `printf '%s\\n' '${c}' > %{buildroot}${f}`),
    '%files',
    ...Object.keys(d.files),
    '',
  ].join('\n');
}

/**
 * Build every RPM into `out`; returns their file names. Built once per checkout by the real rpmbuild
 * (test/harness/fixture-cache.ts), keyed by the spec files, this builder's source and rpmbuild's version;
 * every caller gets its own copies in `out`.
 */
export async function buildRpms(work: string, defs: RpmDef[], out: string): Promise<string[]> {
  const version = String((await execa('rpmbuild', ['--version'])).stdout);
  const builder = await readFile(fileURLToPath(import.meta.url), 'utf8');
  return cachedBuild('rpms', { specs: defs.map((d) => [d.arch, specText(d)]), builder, version }, out, async (built) => {
    await mkdir(work, { recursive: true });
    const top = await mkdtemp(join(work, 'rpmbuild-'));
    await mkdir(join(top, 'SPECS'), { recursive: true });
    for (const d of defs) {
      const spec = join(top, 'SPECS', `${d.name}-${d.version}-${d.arch}.spec`);
      await writeFile(spec, specText(d));
      await execa('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${top}`, ...(d.arch === 'noarch' ? [] : ['--target', d.arch]), spec]);
    }
    for (const arch of await readdir(join(top, 'RPMS'))) {
      for (const f of await readdir(join(top, 'RPMS', arch))) await cp(join(top, 'RPMS', arch, f), join(built, f));
    }
  });
}

export type Compression = 'gz' | 'xz' | 'zstd' | 'bz2';

/**
 * `createrepo_c` over `dir`, primary/filelists/other compressed as asked; optional modules metadata.
 * Debian's createrepo_c is 0.17, which has no zstd (the default of createrepo_c >= 1.0): for `zstd` the
 * metadata is made with gz, then each data file is recompressed by the real `zstd` and its repomd entry
 * (location, checksum, size) pointed at the new file; open-checksum stays as createrepo_c computed it.
 */
export async function createRepo(dir: string, opts: { compress?: Compression; modulesYaml?: string } = {}): Promise<void> {
  const c = opts.compress ?? 'gz';
  const native = c === 'zstd' ? 'gz' : c;
  await execa('createrepo_c', ['--quiet', '--no-database', '--general-compress-type', native, dir]);
  if (opts.modulesYaml) {
    const file = join(dir, '..', 'modules.yaml');
    await writeFile(file, opts.modulesYaml);
    await execa('modifyrepo_c', ['--mdtype', 'modules', '--compress-type', native, file, join(dir, 'repodata')]);
  }
  if (c === 'zstd') await recompressZstd(join(dir, 'repodata'));
}

async function recompressZstd(repodata: string): Promise<void> {
  for (const f of (await readdir(repodata)).filter((x) => x.endsWith('.xml.gz') || x.endsWith('.yaml.gz'))) {
    const plain = join(repodata, f.replace(/\.gz$/, ''));
    await execa('gzip', ['-dc', join(repodata, f)], { stdout: { file: plain } });
    const type = /-(\w+)\.(xml|yaml)$/.exec(plain)![1];
    await execa('zstd', ['-q', '--rm', plain, '-o', `${plain}.zst`]);
    await repointEntry(repodata, type, `${plain}.zst`);
    await rm(join(repodata, f));
  }
}

/**
 * Put `file` (made by a real compressor) into `repodata/` under its checksum-prefixed name and point
 * repomd.xml's `type` entry at it: location, checksum and size. open-checksum is left as it was, which is
 * what a test of the open-checksum check needs, and right when the uncompressed bytes are the same.
 */
export async function repointEntry(repodata: string, type: string, file: string): Promise<void> {
  const repomdPath = join(repodata, 'repomd.xml');
  const repomd = await readFile(repomdPath, 'utf8');
  const bytes = await readFile(file);
  const sum = createHash('sha256').update(bytes).digest('hex');
  const name = `${sum}-${basename(file).replace(/^[0-9a-f]{64}-/, '')}`;
  await rename(file, join(repodata, name));
  await writeFile(repomdPath, repomd.replace(new RegExp(`(<data type="${type}">[\\s\\S]*?</data>)`), (block) => block
    .replace(/<checksum type="sha256">[0-9a-f]+<\/checksum>/, `<checksum type="sha256">${sum}</checksum>`)
    .replace(/<location href="[^"]+"\/>/, `<location href="repodata/${name}"/>`)
    .replace(/<size>\d+<\/size>/, `<size>${bytes.length}</size>`)));
}

export interface GpgKey {
  home: string;
  /** Armored public key file. */
  publicKey: string;
  /** Armored secret key file (no passphrase). */
  secretKey: string;
}

const homes = new Set<string>();

/** Stop the gpg-agents of every GNUPGHOME makeGpgKey made (they outlive gpg and hold inotify instances). */
export async function stopGpgAgents(): Promise<void> {
  for (const home of homes) await execa('gpgconf', ['--homedir', home, '--kill', 'all'], { reject: false });
  homes.clear();
}

/** A throwaway ed25519 signing key in its own GNUPGHOME (call stopGpgAgents when done). */
export async function makeGpgKey(dir: string, name: string): Promise<GpgKey> {
  const home = join(dir, `gnupg-${name}`);
  homes.add(home);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const gpg = (args: string[]) => execa('gpg', ['--homedir', home, '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
  await gpg(['--quick-gen-key', `${name} <${name}@test.invalid>`, 'ed25519', 'sign', 'never']);
  const publicKey = join(dir, `${name}.pub.asc`);
  const secretKey = join(dir, `${name}.sec.asc`);
  await gpg(['--armor', '--output', publicKey, '--export', `${name}@test.invalid`]);
  await gpg(['--armor', '--output', secretKey, '--export-secret-keys', `${name}@test.invalid`]);
  return { home, publicKey, secretKey };
}

export async function signRepomd(repoDir: string, key: GpgKey): Promise<void> {
  const repomd = join(repoDir, 'repodata', 'repomd.xml');
  await execa('gpg', ['--homedir', key.home, '--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', '--armor', '--detach-sign', '--output', `${repomd}.asc`, repomd]);
}

/**
 * The main fixture: a versioned requirement (alpha → beta >= 2.0, with an older beta 1.5 beside), a file
 * requirement only filelists.xml can answer (alpha → /usr/share/gamma/data.txt), a file requirement
 * primary answers (delta → /usr/bin/beta), a rich dependency (alpha → (delta or epsilon)), a virtual
 * provide with a version (zeta → virtual-thing >= 2, provided by delta = 3), noarch and x86_64 packages,
 * an i686 build the default arch filter leaves out, an epoch, and a package nothing needs (omega).
 */
export const PACKAGES: RpmDef[] = [
  { name: 'alpha', version: '1.0', arch: 'noarch', requires: ['beta >= 2.0', '/usr/share/gamma/data.txt', '(delta or epsilon)'], files: { '/usr/share/alpha/a.txt': 'alpha' } },
  { name: 'beta', version: '2.1', arch: 'x86_64', files: { '/usr/bin/beta': 'beta 2.1' } },
  { name: 'beta', version: '2.1', arch: 'i686', files: { '/usr/bin/beta': 'beta 2.1 i686' } },
  { name: 'beta', version: '1.5', arch: 'x86_64', files: { '/usr/bin/beta': 'beta 1.5' } },
  { name: 'gamma', version: '1', arch: 'noarch', epoch: 2, files: { '/usr/share/gamma/data.txt': 'gamma' } },
  { name: 'delta', version: '1', arch: 'noarch', requires: ['/usr/bin/beta'], provides: ['virtual-thing = 3'], files: { '/usr/share/delta/d.txt': 'delta' } },
  { name: 'epsilon', version: '1', arch: 'noarch', files: { '/usr/share/epsilon/e.txt': 'epsilon' } },
  { name: 'zeta', version: '0.9', arch: 'noarch', requires: ['virtual-thing >= 2'], files: { '/usr/share/zeta/z.txt': 'zeta' } },
  { name: 'omega', version: '1', arch: 'noarch', files: { '/usr/share/omega/o.txt': 'omega' } },
];

/** What `packages: [alpha, zeta]` must bring, as file names. */
export const CLOSURE = [
  'alpha-1.0-1.noarch.rpm', 'beta-2.1-1.x86_64.rpm', 'delta-1-1.noarch.rpm', 'gamma-1-1.noarch.rpm', 'zeta-0.9-1.noarch.rpm',
];

/**
 * modules.yaml for the main fixture: module betamod, stream legacy, carries beta 1.5 (no default
 * stream, so dnf hides it unless enabled); module zetamod has zeta in its default stream.
 */
export const MODULES_YAML = `---
document: modulemd
version: 2
data:
  name: betamod
  stream: legacy
  version: 20240101000000
  context: c0ffee42
  arch: x86_64
  summary: beta, the old one
  description: >-
    The legacy stream of beta.
  license:
    module: [MIT]
  profiles:
    default:
      rpms: [beta]
  artifacts:
    rpms:
    - beta-0:1.5-1.x86_64
...
---
document: modulemd
version: 2
data:
  name: zetamod
  stream: stable
  version: 20240101000000
  context: c0ffee43
  arch: x86_64
  summary: zeta
  description: >-
    zeta in a module.
  license:
    module: [MIT]
  artifacts:
    rpms:
    - zeta-0:0.9-1.noarch
...
---
document: modulemd-defaults
version: 1
data:
  module: zetamod
  stream: stable
...
`;
