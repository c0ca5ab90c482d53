import { satisfies, valid } from '@renovatebot/pep440';
import { normalizeName } from './names.js';
import { parsePlatform } from './tags.js';

/**
 * PEP 508 environment markers, evaluated for the TARGET environment of a manifest entry (its python,
 * platform and implementation), never for the machine running pack. Comparison rules follow
 * pypa/packaging `markers.py`: a version operator on two valid versions compares as PEP 440, otherwise
 * as strings; `extra` compares normalised names.
 */

export interface MarkerEnvironment {
  python_version: string;
  python_full_version: string;
  sys_platform: string;
  platform_system: string;
  platform_machine: string;
  platform_release: string;
  platform_version: string;
  os_name: string;
  implementation_name: string;
  implementation_version: string;
  platform_python_implementation: string;
  /** The extra being evaluated ('' for the base requirements). */
  extra: string;
}

export type Marker =
  | { op: 'and' | 'or'; left: Marker; right: Marker }
  | { op: 'cmp'; left: MarkerValue; cmp: string; right: MarkerValue };

type MarkerValue = { variable: string } | { literal: string };

const VARIABLES = new Set([
  'python_version', 'python_full_version', 'sys_platform', 'platform_system', 'platform_machine', 'platform_release',
  'platform_version', 'os_name', 'implementation_name', 'implementation_version', 'platform_python_implementation', 'extra',
  // Legacy PEP 345 spellings that packaging still accepts.
  'os.name', 'sys.platform', 'platform.version', 'platform.machine', 'platform.python_implementation', 'python_implementation',
]);
const ALIASES: Record<string, keyof MarkerEnvironment> = {
  'os.name': 'os_name', 'sys.platform': 'sys_platform', 'platform.version': 'platform_version',
  'platform.machine': 'platform_machine', 'platform.python_implementation': 'platform_python_implementation',
  python_implementation: 'platform_python_implementation',
};

export class MarkerSyntaxError extends Error {}

type Token = { t: 'str' | 'var' | 'op' | '(' | ')' | 'and' | 'or'; v: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(' || c === ')') { out.push({ t: c, v: c }); i++; continue; }
    if (c === '"' || c === "'") {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new MarkerSyntaxError(`unterminated string in marker: ${src}`);
      out.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const op = /^(===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)/.exec(src.slice(i));
    if (op) { out.push({ t: 'op', v: op[1].replace(/\s+/, ' ') }); i += op[1].length; continue; }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(src.slice(i));
    if (word) {
      const w = word[0];
      if (w === 'and' || w === 'or') out.push({ t: w, v: w });
      else if (VARIABLES.has(w)) out.push({ t: 'var', v: w });
      else throw new MarkerSyntaxError(`unknown marker variable ${w} in: ${src}`);
      i += w.length;
      continue;
    }
    throw new MarkerSyntaxError(`unexpected ${JSON.stringify(c)} in marker: ${src}`);
  }
  return out;
}

export function parseMarker(src: string): Marker {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const expect = (t: Token['t']) => {
    const tok = tokens[pos++];
    if (!tok || tok.t !== t) throw new MarkerSyntaxError(`expected ${t} in marker: ${src}`);
    return tok;
  };
  const value = (): MarkerValue => {
    const tok = tokens[pos++];
    if (tok?.t === 'var') return { variable: tok.v };
    if (tok?.t === 'str') return { literal: tok.v };
    throw new MarkerSyntaxError(`expected a variable or string in marker: ${src}`);
  };
  const atom = (): Marker => {
    if (peek()?.t === '(') {
      pos++;
      const m = or();
      expect(')');
      return m;
    }
    const left = value();
    const cmp = expect('op').v;
    const right = value();
    return { op: 'cmp', left, cmp, right };
  };
  const and = (): Marker => {
    let m = atom();
    while (peek()?.t === 'and') { pos++; m = { op: 'and', left: m, right: atom() }; }
    return m;
  };
  const or = (): Marker => {
    let m = and();
    while (peek()?.t === 'or') { pos++; m = { op: 'or', left: m, right: and() }; }
    return m;
  };
  const m = or();
  if (pos !== tokens.length) throw new MarkerSyntaxError(`unexpected ${tokens[pos].v} in marker: ${src}`);
  return m;
}

export function evaluateMarker(m: Marker, env: MarkerEnvironment): boolean {
  if (m.op !== 'cmp') return m.op === 'and' ? evaluateMarker(m.left, env) && evaluateMarker(m.right, env) : evaluateMarker(m.left, env) || evaluateMarker(m.right, env);
  const isExtra = 'variable' in m.left ? m.left.variable === 'extra' : 'variable' in m.right && m.right.variable === 'extra';
  const resolveValue = (v: MarkerValue) => {
    if ('literal' in v) return v.literal;
    return env[ALIASES[v.variable] ?? (v.variable as keyof MarkerEnvironment)] ?? '';
  };
  let lhs = resolveValue(m.left);
  let rhs = resolveValue(m.right);
  if (isExtra) {
    lhs = normalizeName(lhs);
    rhs = normalizeName(rhs);
  }
  switch (m.cmp) {
    case 'in': return rhs.includes(lhs);
    case 'not in': return !rhs.includes(lhs);
  }
  if (!isExtra && m.cmp !== '===' && valid(lhs) && valid(rhs)) {
    // `rhs` is the specifier (packaging: Specifier(op + rhs).contains(lhs, prereleases=True)).
    return satisfies(lhs, `${m.cmp}${rhs}`, { prereleases: true });
  }
  switch (m.cmp) {
    case '==': case '===': return lhs === rhs;
    case '!=': return lhs !== rhs;
    case '<': return lhs < rhs;
    case '<=': return lhs <= rhs;
    case '>': return lhs > rhs;
    case '>=': return lhs >= rhs;
    default:
      // `~=` needs versions on both sides (packaging raises UndefinedComparison).
      throw new MarkerSyntaxError(`cannot compare ${JSON.stringify(lhs)} ${m.cmp} ${JSON.stringify(rhs)}`);
  }
}

/** The marker variables of a target: python version, one platform tag, implementation (cp or pp). */
export function targetMarkerEnvironment(python: string, platform: string, implementation = 'cp'): MarkerEnvironment {
  const parts = python.split('.');
  const full = parts.length >= 3 ? python : [...parts, ...Array(3 - parts.length).fill('0')].join('.');
  const p = parsePlatform(platform);
  let sys = 'linux';
  let system = 'Linux';
  let os = 'posix';
  let machine = p.arch;
  if (p.family === 'macosx') {
    sys = 'darwin';
    system = 'Darwin';
    if (machine === 'universal2' || machine === 'intel') machine = 'x86_64';
  } else if (p.family === 'windows') {
    sys = 'win32';
    system = 'Windows';
    os = 'nt';
    // Python on Windows reports AMD64/ARM64/x86 for platform.machine().
    machine = ({ amd64: 'AMD64', arm64: 'ARM64', x86: 'x86' } as Record<string, string>)[machine] ?? machine;
  }
  const pypy = implementation === 'pp';
  return {
    python_version: parts.slice(0, 2).join('.'),
    python_full_version: full,
    sys_platform: sys,
    platform_system: system,
    platform_machine: machine,
    platform_release: '',
    platform_version: '',
    os_name: os,
    implementation_name: pypy ? 'pypy' : 'cpython',
    implementation_version: pypy ? '' : full,
    platform_python_implementation: pypy ? 'PyPy' : 'CPython',
    extra: '',
  };
}
