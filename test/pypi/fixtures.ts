import { execa } from 'execa';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedBuild } from '../harness/fixture-cache.js';

/**
 * Wheels built by `pip wheel` from small setuptools projects made here. No build backend can be
 * fetched on this machine, so the build runs without isolation in a Python that already has
 * setuptools and wheel: Debian's /usr/bin/python3 (python3-setuptools, python3-wheel, python3-pip;
 * see test/tools/pypi.json). The pyenv Python on PATH has setuptools but not `wheel`.
 *
 * The projects make every resolution rule observable:
 *  - agap-app 2.0 needs agap-lib>=2 but agap-pinned needs agap-lib<2 → backtrack to agap-app 1.0
 *  - agap-app needs agap-winonly only on win32 (marker), and agap-speedup for its extra `fast`
 *  - agap-speedup 2.0 requires Python >=3.12, so a 3.11 target gets 1.0
 *  - agap-native 1.0 has a manylinux2014_x86_64 and a win_amd64 wheel (a binary distribution,
 *    tagged by bdist_wheel --plat-name), plus a manylinux_2_28 build that a 2_17 target must refuse
 *  - agap-lib 1.0 also has an sdist (never taken: a wheel fits); agap-srconly has only an sdist
 */

export interface FixtureProject {
  name: string;
  version: string;
  requires?: string[];
  extras?: Record<string, string[]>;
  pythonRequires?: string;
  /** bdist_wheel --plat-name for a binary (non-pure) wheel. */
  platName?: string;
  /** Build an sdist (`setup.py sdist`) instead of a wheel. */
  sdist?: boolean;
  /** The `License:` core-metadata field (setuptools `license=`). */
  license?: string;
}

export const PROJECTS: FixtureProject[] = [
  { name: 'agap-app', version: '1.0', requires: ['agap-lib>=1.0', 'agap-winonly; sys_platform == "win32"'], extras: { fast: ['agap-speedup'] }, pythonRequires: '>=3.8' },
  { name: 'agap-app', version: '2.0', requires: ['agap-lib>=2.0', 'agap-winonly; sys_platform == "win32"'], extras: { fast: ['agap-speedup'] }, pythonRequires: '>=3.8' },
  { name: 'agap-pinned', version: '1.0', requires: ['agap-lib<2'] },
  { name: 'agap-lib', version: '1.0' },
  { name: 'agap-lib', version: '2.0' },
  { name: 'agap-winonly', version: '1.0' },
  { name: 'agap-speedup', version: '1.0', pythonRequires: '>=3.8' },
  { name: 'agap-speedup', version: '2.0', pythonRequires: '>=3.12' },
  { name: 'agap-native', version: '1.0', platName: 'manylinux2014_x86_64' },
  { name: 'agap-native', version: '1.0', platName: 'win_amd64' },
  { name: 'agap-native', version: '1.0', platName: 'manylinux_2_28_x86_64' },
  // An sdist beside wheels is never taken; a project with only an sdist is.
  { name: 'agap-lib', version: '1.0', sdist: true },
  { name: 'agap-srconly', version: '1.0', sdist: true },
];

/** What a Python 3.11 manylinux_2_17_x86_64 target must carry for ROOTS. */
export const ROOTS = ['agap-pinned', 'agap-app[fast]', 'agap-native'];
export const EXPECTED_LINUX_311 = [
  'agap_app-1.0-py3-none-any.whl',
  'agap_lib-1.0-py3-none-any.whl',
  'agap_native-1.0-cp311-cp311-manylinux2014_x86_64.whl',
  'agap_pinned-1.0-py3-none-any.whl',
  'agap_speedup-1.0-py3-none-any.whl',
];

/** The Python that builds the fixtures (it must import setuptools and wheel). */
export const BUILD_PYTHON = '/usr/bin/python3';

function setupPy(p: FixtureProject): string {
  const mod = p.name.replace(/-/g, '_');
  const lines = [
    'from setuptools import setup',
    'from setuptools.dist import Distribution',
    '',
    'class BinaryDistribution(Distribution):',
    '    def has_ext_modules(self):',
    '        return True',
    '',
    'setup(',
    `    name=${JSON.stringify(p.name)},`,
    `    version=${JSON.stringify(p.version)},`,
    `    description=${JSON.stringify(`airgap test fixture ${p.name}`)},`,
    `    py_modules=[${JSON.stringify(mod)}],`,
    `    install_requires=${JSON.stringify(p.requires ?? [])},`,
    `    extras_require=${JSON.stringify(p.extras ?? {})},`,
    ...(p.pythonRequires ? [`    python_requires=${JSON.stringify(p.pythonRequires)},`] : []),
    ...(p.license ? [`    license=${JSON.stringify(p.license)},`] : []),
    ...(p.platName ? ['    distclass=BinaryDistribution,'] : []),
    ')',
    '',
  ];
  return lines.join('\n');
}

/** Build every project's wheel into `out` and write each wheel's METADATA beside it as `<wheel>.metadata` (PEP 658). */
export async function buildWheels(work: string, projects: FixtureProject[] = PROJECTS): Promise<string> {
  const check = await execa(BUILD_PYTHON, ['-c', 'import setuptools, wheel, pip, sys; print(sys.version, setuptools.__version__, wheel.__version__, pip.__version__)'], { reject: false });
  if (check.exitCode !== 0) {
    throw new Error(`${BUILD_PYTHON} cannot import setuptools, wheel and pip (needed to build the test wheels): apt-get install -y python3-setuptools python3-wheel python3-pip\n${check.stderr}`);
  }
  const out = join(work, 'wheels');
  // Built once per checkout by the real pip (test/harness/fixture-cache.ts), keyed by the projects, this
  // builder's source and the tool versions; every caller gets its own copy in `out`.
  const builder = await readFile(fileURLToPath(import.meta.url), 'utf8');
  await cachedBuild('wheels', { projects, builder, tools: check.stdout }, out, (dir) => pipWheels(work, projects, dir));
  return out;
}

async function pipWheels(work: string, projects: FixtureProject[], out: string): Promise<void> {
  const dirs: { dir: string; sdist?: boolean }[] = [];
  for (const [i, p] of projects.entries()) {
    const dir = join(work, 'src', `${i}-${p.name}-${p.version}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'pyproject.toml'), '[build-system]\nrequires = ["setuptools", "wheel"]\nbuild-backend = "setuptools.build_meta"\n');
    await writeFile(join(dir, 'setup.py'), setupPy(p));
    if (p.platName) await writeFile(join(dir, 'setup.cfg'), `[bdist_wheel]\nplat_name = ${p.platName}\n`);
    await writeFile(join(dir, `${p.name.replace(/-/g, '_')}.py`), `VERSION = ${JSON.stringify(p.version)}\n`);
    dirs.push({ dir, sdist: p.sdist });
  }
  // pip builds several projects per run, but not two of one name: one run per "round" of distinct names.
  const rounds: string[][] = [];
  const seen: Set<string>[] = [];
  for (const [i, p] of projects.entries()) {
    if (p.sdist) continue;
    let r = seen.findIndex((names) => !names.has(p.name));
    if (r < 0) {
      r = rounds.length;
      rounds.push([]);
      seen.push(new Set());
    }
    rounds[r].push(dirs[i].dir);
    seen[r].add(p.name);
  }
  const jobs: (() => Promise<unknown>)[] = [
    ...rounds.map((round) => () => execa(BUILD_PYTHON, ['-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--ignore-requires-python', '--no-index', '--no-cache-dir', '-q', '-w', out, ...round], {
      env: { PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1' },
    })),
    ...dirs.filter((d) => d.sdist).map(({ dir }) => () => execa(BUILD_PYTHON, ['setup.py', '-q', 'sdist', '--formats=gztar', '-d', out], { cwd: dir })),
  ];
  const worker = async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) await job();
  };
  await Promise.all([worker(), worker()]);
  const script = [
    'import sys, zipfile, os',
    'for path in sys.argv[1:]:',
    '    z = zipfile.ZipFile(path)',
    "    name = [n for n in z.namelist() if n.count('/') == 1 and n.endswith('.dist-info/METADATA')][0]",
    "    open(path + '.metadata', 'wb').write(z.read(name))",
  ].join('\n');
  const wheels = (await readdir(out)).filter((f) => f.endsWith('.whl')).map((f) => join(out, f));
  await execa(BUILD_PYTHON, ['-c', script, ...wheels]);
}
