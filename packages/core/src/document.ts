import { createRequire } from 'node:module';
import path from 'node:path';
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { parseDocument as ParseDocument } from 'yaml';
import { InternalError, UsageError } from './errors.js';
import { binaryOffset } from './regular-file.js';

// ajv, ajv-formats and yaml (CommonJS) are required when a document is first parsed or a schema
// compiled, not with the module: together they are a third of a command's start-up, and `airgap verify`
// or `--help` without a config file needs none of them (test/bench/startup.mjs). From dist/ (ES modules)
// through createRequire; in the release, one CommonJS file (scripts/dist.mjs), through its own require,
// whose literal calls esbuild bundles.
const esmRequire = typeof require === 'function' ? undefined : createRequire(import.meta.url);
const yaml = (): { parseDocument: typeof ParseDocument } => (esmRequire ? esmRequire('yaml') : require('yaml')) as { parseDocument: typeof ParseDocument };
const ajv2020 = (): typeof Ajv2020 => ((esmRequire ? esmRequire('ajv/dist/2020.js') : require('ajv/dist/2020.js')) as { Ajv2020: typeof Ajv2020 }).Ajv2020;
const ajvFormats = (): ((ajv: Ajv2020) => void) => (esmRequire ? esmRequire('ajv-formats') : require('ajv-formats')) as (ajv: Ajv2020) => void;

/**
 * The documents an operator writes by hand — the bundle manifest (docs/manifest.md) and the config (docs/config.md) — share
 * one way in: YAML (JSON is a subset) → `${VAR}` substitution → JSON Schema validation, with every problem
 * reported on its own line as `FILE: key.path: what is wrong` in the operator's words.
 */

/** Draft of the published schemas (ajv's Ajv2020 class validates it). */
export const SCHEMA_DRAFT = 'https://json-schema.org/draft/2020-12/schema';

/**
 * Annotation a schema may carry to replace a pattern/enum/const error with words, e.g.
 * `'x-expected': 'env, none or an http(s):// proxy URL'` → `http.proxy: must be env, none or …`.
 * Other validators and editors ignore it (unknown keywords are annotations in 2020-12).
 */
export const EXPECTED_KEYWORD = 'x-expected';

/** Credentials never appear literally (docs/manifest.md, §4): these keys get a hint naming the `…Env` key to use. */
const CREDENTIAL_KEYS = new Map([
  ['password', 'passwordEnv'],
  ['pass', 'passwordEnv'],
  ['token', 'tokenEnv'],
  ['username', 'usernameEnv'],
  ['user', 'usernameEnv'],
]);

/** How a file is named in messages: relative to the working directory when it lies under it. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const abs = path.resolve(cwd, file);
  const rel = path.relative(cwd, abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

/**
 * Parse YAML or JSON text; syntax errors become one UsageError listing `FILE:LINE:COL: …` per problem.
 * Messages never repeat the file's text (it may hold a secret, docs/security.md): a syntax error is its
 * position and its kind only, and a file that is not text is "not YAML (binary data at byte N)".
 */
export function parseYaml(input: string | Uint8Array, label: string): unknown {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const at = binaryOffset(bytes);
  // A string already decoded from bad UTF-8 holds U+FFFD where the bytes were not text.
  const replaced = typeof input === 'string' ? input.indexOf('\ufffd') : -1;
  if (at !== undefined || replaced >= 0) {
    const n = at ?? Buffer.byteLength(input.slice(0, replaced) as string);
    throw new UsageError(`${label}: not YAML (binary data at byte ${n})`, { subject: label, hint: 'pass a YAML or JSON text file' });
  }
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  const doc = yaml().parseDocument(text, { prettyErrors: true, uniqueKeys: true, merge: true });
  if (doc.errors.length) {
    const lines = doc.errors.slice(0, 20).map((e) => {
      const pos = e.linePos?.[0];
      return `${label}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${yamlErrorKind(e.code)}`;
    });
    if (doc.errors.length > 20) lines.push(`${label}: … and ${doc.errors.length - 20} more syntax errors`);
    throw new UsageError(lines.join('\n'), { subject: label, hint: 'fix the YAML syntax at the line and column named' });
  }
  try {
    // toJS caps alias expansion (maxAliasCount 100), which refuses "billion laughs" documents.
    return doc.toJS();
  } catch (e) {
    // e.g. too many alias expansions; the message may quote the document, so only its first words are kept.
    const kind = /excessive alias count/i.test((e as Error).message) ? 'too many alias expansions (*name)' : 'cannot be turned into data';
    throw new UsageError(`${label}: YAML ${kind}`, { subject: label, cause: e });
  }
}

/**
 * Where a JSON.parse error is, as `line L, column C`, without the snippet of the text that V8 puts in
 * its message (the text may hold a secret, docs/security.md).
 */
export function jsonSyntaxWhere(e: unknown, text: string): string {
  const m = /position (\d+)/.exec(String((e as Error)?.message ?? ''));
  if (!m) return /end of JSON|Unexpected end/i.test(String((e as Error)?.message)) ? 'unexpected end of the text' : 'a syntax error';
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return `a syntax error at line ${line}, column ${pos - before.lastIndexOf('\n')}`;
}

/** The kind of a YAML syntax error in words, from the parser's code (never its message, which quotes the text). */
function yamlErrorKind(code: string): string {
  const words: Record<string, string> = {
    MULTIPLE_DOCS: 'a second YAML document starts here (---): put one manifest or config in a file',
    DUPLICATE_KEY: 'a key appears twice in the same mapping',
    BAD_INDENT: 'wrong indentation',
    MISSING_CHAR: 'a closing quote, bracket or brace is missing',
    BLOCK_AS_IMPLICIT_KEY: 'a block value cannot be a key (a missing ": " or wrong indentation?)',
    MULTILINE_IMPLICIT_KEY: 'a key spans several lines (a missing ": " or a missing quote?)',
    UNEXPECTED_TOKEN: 'unexpected character',
    TAB_AS_INDENT: 'a TAB used for indentation (use spaces)',
    BAD_ALIAS: 'an alias (*name) names no anchor',
    BAD_SCALAR_START: 'a value cannot start with this character (quote it)',
    TAG_RESOLVE_FAILED: 'a tagged value cannot be read',
    IMPOSSIBLE: 'unreadable YAML',
  };
  return words[code] ?? code.toLowerCase().replace(/_/g, ' ');
}

/** One problem in a document: the key path it is at (`images[0].ref`, '' for the whole document) and the words. */
export interface Problem {
  path: string;
  message: string;
}

/** Render a key path segment: `.key` for plain keys, `[0]` for list positions, `["a.b:5000"]` otherwise. */
export function keyPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${JSON.stringify(key)}]`;
}

const VAR_REFERENCE = /\$(\$?)\{([^}]*)\}/g;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replace `${VAR}` in every string value (not in keys) from `env`; `$${VAR}` stands for a literal `${VAR}`.
 * Unset variables and malformed references are collected as problems (the value is left as written).
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, problems: Problem[], at = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(VAR_REFERENCE, (whole, escaped: string, name: string) => {
      if (escaped) return whole.slice(1);
      if (!VAR_NAME.test(name)) {
        problems.push({ path: at, message: `${whole} is not a valid variable reference (write \${NAME}, or $\${…} for a literal \${…})` });
        return whole;
      }
      const v = Object.hasOwn(env, name) ? env[name] : undefined; // not `constructor` from Object.prototype
      if (v === undefined) {
        problems.push({ path: at, message: `environment variable ${name} is not set (used as \${${name}})` });
        return whole;
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, problems, keyPath(at, i)));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty: a `__proto__:` key stays an ordinary (and so unknown) key instead of setting the prototype.
      Object.defineProperty(out, k, { value: substituteEnv(v, env, problems, keyPath(at, k)), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Compile a composed schema; a schema ajv refuses in strict mode is a bug in this build, not the operator's.
 * The schemas are this build's own, so they are not checked against the JSON Schema meta-schema at every
 * run (`validateSchema: false`: compiling the meta-schema was about half of the compile, paid by every
 * command that reads a manifest or config); test/schema/meta-schema.test.ts checks every composed schema
 * against it instead. Strict mode still refuses unknown keywords and formats here.
 */
export function compileSchema(schema: object, what: string): ValidateFunction {
  const Ajv = ajv2020();
  const ajv = new Ajv({ allErrors: true, strict: true, verbose: true, allowUnionTypes: true, validateSchema: false });
  ajv.addKeyword(EXPECTED_KEYWORD);
  // `format: uri`, `date-time`, … in an ecosystem's schema are checked rather than refused by strict mode.
  // ajv-formats is CommonJS: its module object is the plugin function.
  ajvFormats()(ajv);
  try {
    return ajv.compile(schema);
  } catch (e) {
    throw new InternalError(`the ${what} schema of this airgap build is invalid: ${(e as Error).message}`, { cause: e });
  }
}

export interface ProblemWording {
  /** Words for an unknown key at the top level, before the generic `unknown key (allowed: …)`. */
  unknownTopLevelKey?(key: string): string | undefined;
}

/** Validate `data`; return its problems in the operator's words, in document order, without duplicates. */
export function schemaProblems(validate: ValidateFunction, data: unknown, wording: ProblemWording = {}): Problem[] {
  if (validate(data)) return [];
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const err of pruneAlternatives(validate.errors ?? [])) {
    const p = describe(err, data, wording);
    if (!p) continue;
    const line = `${p.path}\u0000${p.message}`;
    if (seen.has(line)) continue;
    seen.add(line);
    problems.push(p);
  }
  return problems;
}

/**
 * An entry that fits none of the forms of an `anyOf`/`oneOf` gets ajv's errors for every form. Report only
 * the form it came closest to (fewest errors): `charts[0].images: unknown key (allowed: ref)` rather than
 * also `missing required key repo` from a form the operator did not mean.
 */
function pruneAlternatives(errors: ErrorObject[]): ErrorObject[] {
  const drop = new Set<ErrorObject>();
  for (const alt of errors) {
    if (alt.keyword !== 'anyOf' && alt.keyword !== 'oneOf') continue;
    if ((alt.params as { passingSchemas?: unknown }).passingSchemas) continue; // fits several forms: nothing to choose
    const prefix = alt.schemaPath + '/';
    const branches = new Map<string, ErrorObject[]>();
    for (const e of errors) {
      if (e === alt || !e.schemaPath.startsWith(prefix) || !e.instancePath.startsWith(alt.instancePath)) continue;
      const n = e.schemaPath.slice(prefix.length).split('/')[0];
      branches.set(n, [...(branches.get(n) ?? []), e]);
    }
    if (!branches.size) continue;
    const best = [...branches.values()].reduce((a, b) => (b.length < a.length ? b : a));
    for (const branch of branches.values()) if (branch !== best) for (const e of branch) drop.add(e);
    drop.add(alt);
  }
  return errors.filter((e) => !drop.has(e));
}

/** `FILE: path: message` lines; the path is left out for problems with the whole document. */
export function problemLines(label: string, problems: Problem[]): string {
  return problems.map((p) => (p.path ? `${label}: ${p.path}: ${p.message}` : `${label}: ${p.message}`)).join('\n');
}

/** Problems found: one UsageError (exit 2), a line per problem, each naming the file and the key path. */
export function refuseProblems(label: string, problems: Problem[], hint: string): void {
  if (problems.length) throw new UsageError(problemLines(label, problems), { subject: label, hint });
}

export interface DocumentSchema {
  /** `config` or `manifest`, for the bug report when the composed schema does not compile. */
  what: string;
  /** Load what the substituted document names (the ecosystems whose schemas take part), then compose the schema. */
  schemaFor(data: unknown): Promise<object>;
  wording?: ProblemWording;
}

/**
 * The way in that manifest and config share after parsing: `${VAR}` substitution, then validation
 * against the schema of what the document names. A value still holding an unset `${VAR}` would also fail
 * its pattern; the variable is the real problem, so that path is reported once, for the variable.
 */
export async function substituteAndValidate(parsed: unknown, env: NodeJS.ProcessEnv, schema: DocumentSchema): Promise<{ data: unknown; problems: Problem[] }> {
  const problems: Problem[] = [];
  const data = substituteEnv(parsed, env, problems);
  const envPaths = new Set(problems.map((p) => p.path));
  const validate = compileSchema(await schema.schemaFor(data), schema.what);
  for (const p of schemaProblems(validate, data, schema.wording)) if (!envPaths.has(p.path)) problems.push(p);
  return { data, problems };
}

function describe(err: ErrorObject, root: unknown, wording: ProblemWording): Problem | undefined {
  const at = renderPointer(err.instancePath, root);
  const parent = (err.parentSchema ?? {}) as Record<string, unknown>;
  const expected = typeof parent[EXPECTED_KEYWORD] === 'string' ? (parent[EXPECTED_KEYWORD] as string) : undefined;
  const params = err.params as Record<string, any>;
  // propertyNames reports the failing name on the inner error (`propertyName`) and again on its own; keep the inner one.
  const propertyName = (err as ErrorObject & { propertyName?: string }).propertyName;
  if (propertyName !== undefined) {
    return { path: keyPath(at, propertyName), message: `this name ${expected ? `must be ${expected}` : detail(err, expected)}` };
  }
  switch (err.keyword) {
    case 'if':
    case 'propertyNames':
      return undefined; // the errors of the branch that applied say what is wrong
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const key: string = params.additionalProperty ?? params.unevaluatedProperty;
      const keyAt = keyPath(at, key);
      if (!at && wording.unknownTopLevelKey) {
        const words = wording.unknownTopLevelKey(key);
        if (words) return { path: keyAt, message: words };
      }
      const envKey = CREDENTIAL_KEYS.get(key);
      if (envKey) {
        return { path: keyAt, message: `credentials are never written in a file: use ${envKey} with the name of an environment variable that holds it` };
      }
      const allowed = Object.keys((parent.properties as Record<string, unknown> | undefined) ?? {}).filter((k) => k !== '$schema');
      return { path: keyAt, message: `unknown key${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}` };
    }
    case 'required':
      return { path: at, message: `missing required key ${params.missingProperty}` };
    case 'dependentRequired':
      return { path: at, message: `${params.property} also needs ${params.missingProperty}` };
    default:
      return { path: at, message: detail(err, expected) };
  }
}

function detail(err: ErrorObject, expected: string | undefined): string {
  const params = err.params as Record<string, any>;
  switch (err.keyword) {
    case 'type': {
      const types: string[] = Array.isArray(params.type) ? params.type : String(params.type).split(',');
      return `must be ${types.map(typeWords).join(' or ')} (got ${valueWords(err.data)})`;
    }
    case 'const':
      return expected ? `must be ${expected}` : `must be ${literal(params.allowedValue)}`;
    case 'enum':
      return expected ? `must be ${expected}` : `must be one of: ${(params.allowedValues as unknown[]).map(literal).join(', ')}`;
    case 'pattern':
      return expected ? `must be ${expected}` : `must match ${params.pattern}`;
    case 'format':
      return expected ? `must be ${expected}` : `must be a valid ${params.format}`;
    case 'minLength':
      return params.limit === 1 ? 'must not be empty' : `must be at least ${params.limit} characters`;
    case 'maxLength':
      return `must be at most ${params.limit} characters`;
    case 'minItems':
      return params.limit === 1 ? 'must not be an empty list' : `must have at least ${params.limit} entries`;
    case 'maxItems':
      return `must have at most ${params.limit} entries`;
    case 'minProperties':
      return params.limit === 1 ? 'must have at least one key' : `must have at least ${params.limit} keys`;
    case 'uniqueItems':
      return `must not list the same value twice (entries ${params.j} and ${params.i})`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${params.comparison} ${params.limit}`;
    case 'anyOf':
      return expected ? `must be ${expected}` : 'matches none of the allowed forms';
    case 'oneOf':
      return expected ? `must be ${expected}` : (err.params as { passingSchemas?: unknown }).passingSchemas ? 'matches more than one of the allowed forms: remove the keys of all but one' : 'matches none of the allowed forms';
    case 'not':
      return expected ? `must be ${expected}` : 'is not allowed here';
    default:
      return err.message ?? `fails ${err.keyword}`;
  }
}

function typeWords(t: string): string {
  switch (t) {
    case 'object': return 'a mapping (key: value)';
    case 'array': return 'a list';
    case 'string': return 'a string';
    case 'integer': return 'a whole number';
    case 'number': return 'a number';
    case 'boolean': return 'true or false';
    case 'null': return 'empty';
    default: return t;
  }
}

/** The kind of a value, never the value itself (it may be a secret that landed in the wrong key). */
function valueWords(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return Number.isInteger(v) ? 'a whole number' : 'a number';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return `a ${typeof v}`;
}

function literal(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Turn ajv's JSON pointer into `images[0].platforms`, walking the data so list positions are told from keys. */
function renderPointer(pointer: string, root: unknown): string {
  if (!pointer) return '';
  let out = '';
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const i = Number(seg);
      out = keyPath(out, i);
      node = node[i];
    } else {
      out = keyPath(out, seg);
      node = isPlainObject(node) ? node[seg] : undefined;
    }
  }
  return out;
}
