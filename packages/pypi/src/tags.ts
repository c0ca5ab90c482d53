import { normalizeName } from './names.js';

/**
 * Wheel tags (PEP 425, 427, 600, 656) for a target environment that is not the machine running pack.
 * The ordering of `supportedTags` follows pypa/packaging `tags.py` (`cpython_tags`, then
 * `compatible_tags`): a lower index is a better fit, so the best wheel of a version is the one whose
 * tags reach the lowest index.
 */

export interface WheelName {
  filename: string;
  distribution: string;
  version: string;
  build?: string;
  pythonTags: string[];
  abiTags: string[];
  platformTags: string[];
}

/** `{name}-{ver}(-{build})?-{py}-{abi}-{plat}.whl` (PEP 427); tag fields can be dotted sets (PEP 425). */
export function parseWheelFilename(filename: string): WheelName | undefined {
  if (!filename.endsWith('.whl')) return undefined;
  const parts = filename.slice(0, -4).split('-');
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  const [distribution, version] = parts;
  const build = parts.length === 6 ? parts[2] : undefined;
  const [py, abi, plat] = parts.slice(-3);
  if (!distribution || !version || !py || !abi || !plat) return undefined;
  return { filename, distribution, version, build, pythonTags: py.split('.'), abiTags: abi.split('.'), platformTags: plat.split('.') };
}

/** The compressed tag set as written in the file name, e.g. `cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64`. */
export function wheelTag(w: WheelName): string {
  return `${w.pythonTags.join('.')}-${w.abiTags.join('.')}-${w.platformTags.join('.')}`;
}

/** An sdist `{name}-{version}.tar.gz` (or legacy `.zip`) of the given project; undefined for anything else. */
export function parseSdistFilename(filename: string, project: string): { version: string } | undefined {
  const m = /^(.*)\.(tar\.gz|zip)$/i.exec(filename);
  if (!m) return undefined;
  const base = m[1];
  const want = normalizeName(project);
  for (let i = base.indexOf('-'); i > 0; i = base.indexOf('-', i + 1)) {
    if (normalizeName(base.slice(0, i)) === want) {
      const version = base.slice(i + 1);
      return version ? { version } : undefined;
    }
  }
  return undefined;
}

// PEP 600: the legacy names are aliases of glibc versions.
const LEGACY_MANYLINUX: Record<string, [number, number]> = { manylinux1: [2, 5], manylinux2010: [2, 12], manylinux2014: [2, 17] };
const LEGACY_ARCHES: Record<string, string[]> = {
  manylinux1: ['x86_64', 'i686'],
  manylinux2010: ['x86_64', 'i686'],
  manylinux2014: ['x86_64', 'i686', 'aarch64', 'armv7l', 'ppc64', 'ppc64le', 's390x'],
};

export interface ParsedPlatform {
  family: 'manylinux' | 'musllinux' | 'macosx' | 'windows' | 'linux' | 'any' | 'other';
  arch: string;
  version?: [number, number];
}

export function parsePlatform(platform: string): ParsedPlatform {
  if (platform === 'any') return { family: 'any', arch: '' };
  let m = /^manylinux_(\d+)_(\d+)_(.+)$/.exec(platform);
  if (m) return { family: 'manylinux', arch: m[3], version: [Number(m[1]), Number(m[2])] };
  m = /^(manylinux1|manylinux2010|manylinux2014)_(.+)$/.exec(platform);
  if (m) return { family: 'manylinux', arch: m[2], version: LEGACY_MANYLINUX[m[1]] };
  m = /^musllinux_(\d+)_(\d+)_(.+)$/.exec(platform);
  if (m) return { family: 'musllinux', arch: m[3], version: [Number(m[1]), Number(m[2])] };
  m = /^macosx_(\d+)_(\d+)_(.+)$/.exec(platform);
  if (m) return { family: 'macosx', arch: m[3], version: [Number(m[1]), Number(m[2])] };
  m = /^win(?:_(.+)|32)$/.exec(platform);
  if (m) return { family: 'windows', arch: m[1] ?? 'x86' };
  m = /^linux_(.+)$/.exec(platform);
  if (m) return { family: 'linux', arch: m[1] };
  return { family: 'other', arch: '' };
}

/** Every platform tag a system of `platform` runs, best first (pypa/packaging `_manylinux`, `mac_platforms`). */
export function compatiblePlatforms(platform: string): string[] {
  const p = parsePlatform(platform);
  const out: string[] = [];
  if (p.family === 'any') return out;
  if (p.family === 'manylinux' && p.version) {
    const [major, minor] = p.version;
    // packaging: glibc 2.17 is the oldest assumed everywhere, except x86 where manylinux1 (2.5) exists.
    const oldest = p.arch === 'x86_64' || p.arch === 'i686' ? 5 : 17;
    for (let y = minor; y >= (major === 2 ? oldest : 0); y--) {
      out.push(`manylinux_${major}_${y}_${p.arch}`);
      for (const [legacy, [lm, ly]] of Object.entries(LEGACY_MANYLINUX)) {
        if (lm === major && ly === y && LEGACY_ARCHES[legacy].includes(p.arch)) out.push(`${legacy}_${p.arch}`);
      }
    }
    return out;
  }
  if (p.family === 'musllinux' && p.version) {
    for (let y = p.version[1]; y >= 0; y--) out.push(`musllinux_${p.version[0]}_${y}_${p.arch}`);
    return out;
  }
  if (p.family === 'macosx' && p.version) {
    const formats = [p.arch];
    if (p.arch === 'x86_64') formats.push('intel', 'fat64', 'fat32', 'universal2', 'universal');
    if (p.arch === 'arm64') formats.push('universal2');
    const versions: [number, number][] = [];
    if (p.version[0] >= 11) {
      for (let major = p.version[0]; major >= 11; major--) versions.push([major, 0]);
      // x86_64 macOS 11+ also runs wheels built for 10.x.
      if (p.arch === 'x86_64') for (let minor = 16; minor >= 4; minor--) versions.push([10, minor]);
    } else {
      for (let minor = p.version[1]; minor >= 4; minor--) versions.push([10, minor]);
    }
    for (const [a, b] of versions) for (const f of formats) out.push(`macosx_${a}_${b}_${f}`);
    return out;
  }
  return [platform];
}

export interface TagEnvironment {
  /** Target Python `major.minor`. */
  python: [number, number];
  /** Interpreter abbreviation: `cp` (CPython, the default) or `pp` (PyPy). */
  implementation: string;
  /** ABI tags; default for CPython `cp311` (with `m` before 3.8). */
  abis?: string[];
  /** One target platform tag (`manylinux_2_17_x86_64`, `win_amd64`, `any`). */
  platform: string;
}

/** The tags a target environment accepts, best first. */
export function supportedTags(env: TagEnvironment): string[] {
  const [major, minor] = env.python;
  const interp = `${env.implementation}${major}${minor}`;
  const plats = compatiblePlatforms(env.platform);
  const cp = env.implementation === 'cp';
  const abis = env.abis?.length ? env.abis : cp ? [`cp${major}${minor}${major === 3 && minor < 8 ? 'm' : ''}`] : [];
  const tags: string[] = [];
  for (const abi of abis) for (const p of plats) tags.push(`${interp}-${abi}-${p}`);
  // packaging `_abi3_applies`: the stable ABI exists from CPython 3.2 on.
  const abi3 = cp && major === 3 && minor >= 2;
  if (abi3) for (const p of plats) tags.push(`${interp}-abi3-${p}`);
  for (const p of plats) tags.push(`${interp}-none-${p}`);
  if (abi3) for (let m = minor - 1; m >= 2; m--) for (const p of plats) tags.push(`cp${major}${m}-abi3-${p}`);
  const pyVersions = [`py${major}${minor}`, `py${major}`];
  for (let m = minor - 1; m >= 0; m--) pyVersions.push(`py${major}${m}`);
  for (const v of pyVersions) for (const p of plats) tags.push(`${v}-none-${p}`);
  tags.push(`${interp}-none-any`);
  for (const v of pyVersions) tags.push(`${v}-none-any`);
  return [...new Set(tags)];
}

/** Index of tags for quick ranking. */
export class TagRanking {
  private readonly rank = new Map<string, number>();
  constructor(readonly tags: string[]) {
    tags.forEach((t, i) => this.rank.set(t, i));
  }

  /** The best rank any of the wheel's expanded tags reaches, or undefined when the wheel does not fit. */
  of(w: WheelName): number | undefined {
    let best: number | undefined;
    for (const py of w.pythonTags) {
      for (const abi of w.abiTags) {
        for (const plat of w.platformTags) {
          const r = this.rank.get(`${py}-${abi}-${plat}`);
          if (r !== undefined && (best === undefined || r < best)) best = r;
        }
      }
    }
    return best;
  }
}
