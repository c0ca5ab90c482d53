/**
 * Upstream fixtures made by the real npm client: `npm pack` of generated package folders, then
 * `npm publish <tarball>` into a verdaccio, `npm dist-tag` and `npm deprecate` (issue 6 "must show").
 */
import { mkdir, readFile, readdir, realpath, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cachedBuild } from '../harness/fixture-cache.js';
import { npmClient, type Verdaccio } from './verdaccio.js';

let builderText: Promise<string> | undefined;
const builder = () => (builderText ??= readFile(fileURLToPath(import.meta.url), 'utf8'));

let npmVersionText: Promise<string> | undefined;
/** The version of the npm on PATH (what npmClient runs), read from its package.json; `npm --version` if not found. */
function npmVersion(): Promise<string> {
  return (npmVersionText ??= (async () => {
    for (const d of (process.env.PATH ?? '').split(delimiter)) {
      try {
        // .../node_modules/npm/bin/npm-cli.js → .../node_modules/npm/package.json
        const pkg = JSON.parse(await readFile(join(dirname(await realpath(join(d, 'npm'))), '..', 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'npm' && pkg.version) return pkg.version;
      } catch {
        /* not here */
      }
    }
    return String((await execa('npm', ['--version'])).stdout).trim();
  })());
}

export interface FixturePackage {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional: boolean }>;
  os?: string[];
  /** Publish under this dist-tag instead of latest. */
  tag?: string;
}

/** Pack and publish each package in order (order decides `latest`), returning the tarball paths. */
export async function publishFixtures(reg: Verdaccio, work: string, pkgs: FixturePackage[]): Promise<Map<string, string>> {
  const cache = join(work, 'npm-cache-publish');
  const tarballs = new Map<string, string>();
  // Versions of one package go in order (the last one published without a tag becomes latest);
  // different packages are published side by side.
  const byName = new Map<string, FixturePackage[]>();
  for (const p of pkgs) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  const groups = [...byName.values()];
  const worker = async () => {
    for (let g = groups.shift(); g; g = groups.shift()) for (const p of g) await publishOne(p);
  };
  const publishOne = async (p: FixturePackage) => {
    const dir = join(work, 'src', `${p.name.replace('/', '+')}@${p.version}`);
    await mkdir(dir, { recursive: true });
    const { tag, ...pkg } = p;
    const files = {
      'package.json': JSON.stringify({ ...pkg, description: `fixture ${p.name}`, license: 'MIT', main: 'index.js' }, null, 2),
      'index.js': `module.exports = ${JSON.stringify(`${p.name}@${p.version}`)};\n`,
    };
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    // The tarball is made by the real `npm pack` once per checkout (test/harness/fixture-cache.ts), keyed by
    // the package's files, this builder's source and npm's version; every caller gets its own copy in `dir`.
    let filename = '';
    await cachedBuild('npm-pack', { files, builder: await builder(), npm: await npmVersion() }, dir, async (out) => {
      const packed = await npmClient(['pack', '--pack-destination', out, '--json'], { cwd: dir, userconfig: reg.userconfig, cache, registry: reg.url });
      filename = (JSON.parse(String(packed.stdout)) as { filename: string }[])[0].filename;
    });
    filename ||= (await readdir(dir)).find((f) => f.endsWith('.tgz'))!;
    const file = join(dir, filename);
    await npmClient(['publish', file, ...(tag ? ['--tag', tag] : [])], { cwd: dir, userconfig: reg.userconfig, cache, registry: reg.url });
    tarballs.set(`${p.name}@${p.version}`, file);
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return tarballs;
}

export async function deprecate(reg: Verdaccio, work: string, spec: string, message: string): Promise<void> {
  await npmClient(['deprecate', spec, message], { cwd: work, userconfig: reg.userconfig, cache: join(work, 'npm-cache-publish'), registry: reg.url });
}

/**
 * The fixture graph. What npm does with it (and so what the closure must be):
 * - fx-util@1.2.0 is a root (exact, deprecated: carried with a warning); fx-core wants fx-util@^1.0.0,
 *   which that hoisted 1.2.0 satisfies, so npm fetches no other 1.x (highest-per-range would add 1.1.0);
 * - @fx/scoped wants fx-util@^2 → 2.0.0, nested (the latest tag);
 * - fx-plugin has a peer fx-peer-host@^1 (installed: 1.1.0, not the latest 2.0.0) and an optional peer
 *   fx-optional-peer (not installed by npm);
 * - fx-app has optional fx-opt-linux (os linux) and fx-opt-darwin (os darwin);
 * - fx-beta@next is a dist-tag naming a prerelease.
 */
export const FIXTURES: FixturePackage[] = [
  { name: 'fx-util', version: '1.0.0' },
  { name: 'fx-util', version: '1.1.0' },
  { name: 'fx-util', version: '1.2.0' },
  { name: 'fx-util', version: '2.0.0' },
  { name: 'fx-core', version: '1.0.0', dependencies: { 'fx-util': '^1.0.0' } },
  { name: '@fx/scoped', version: '1.0.0', dependencies: { 'fx-util': '^2.0.0' } },
  { name: 'fx-peer-host', version: '1.0.0' },
  { name: 'fx-peer-host', version: '1.1.0' },
  { name: 'fx-peer-host', version: '2.0.0' },
  { name: 'fx-optional-peer', version: '1.0.0' },
  {
    name: 'fx-plugin', version: '1.0.0',
    peerDependencies: { 'fx-peer-host': '^1.0.0', 'fx-optional-peer': '^1.0.0' },
    peerDependenciesMeta: { 'fx-optional-peer': { optional: true } },
  },
  { name: 'fx-opt-linux', version: '1.0.0', os: ['linux'] },
  { name: 'fx-opt-darwin', version: '1.0.0', os: ['darwin'] },
  {
    name: 'fx-app', version: '1.0.0',
    dependencies: { 'fx-core': '^1.0.0', '@fx/scoped': '^1.0.0', 'fx-plugin': '^1.0.0' },
    optionalDependencies: { 'fx-opt-linux': '^1.0.0', 'fx-opt-darwin': '^1.0.0' },
  },
  { name: 'fx-beta', version: '1.0.0' },
  { name: 'fx-beta', version: '2.0.0-beta.1', tag: 'next' },
];

export const ROOTS = ['fx-app@^1', 'fx-beta@next', 'fx-util@1.2.0'];
