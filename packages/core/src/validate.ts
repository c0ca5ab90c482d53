import type { Artifact } from './artifact.js';
import { isDigest } from './descriptor.js';
import { IntegrityError } from './errors.js';

/**
 * Building blocks of each ecosystem's `validate(artifact)` (docs/security.md "Index semantics"): the
 * signed bundle index says where things land and what generated index files contain, so every field that
 * becomes a path, a file name, a URL path or a line is checked at verify time, before anything is
 * published. A violation is an IntegrityError (exit 3) naming the artifact and the field.
 */

/** C0 controls, DEL, C1 controls and the Unicode line/paragraph separators. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_LF_TAB = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

/** RFC 6838 type/subtype (blob media types become Content-Type headers and OCI index fields). */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** A value shown in a message: quoted, control characters escaped, cut to 80 characters. */
export function shown(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  const cut = s.length > 80 ? s.slice(0, 80) + '…' : s;
  return JSON.stringify(cut).replace(/[\u007f-\u009f\u2028\u2029]/g, unicodeEscape);
}

// eslint-disable-next-line no-control-regex
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Text from a manifest, an upstream or a bundle printed on a line of its own (progress lines):
 * unquoted, but every control character (ESC of a terminal escape sequence, CR, BEL…) escaped as `\u001b`,
 * as `shown` does, so a hostile name cannot move the cursor or rewrite the screen (docs/security.md).
 * `lines`: keep LF and TAB (multi-line messages); otherwise they are escaped too.
 */
export function printable(s: string, opts: { lines?: boolean } = {}): string {
  const escaped = s.replace(TERMINAL_CONTROL, unicodeEscape);
  return opts.lines ? escaped : escaped.replace(/[\n\t]/g, unicodeEscape);
}

function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `kind "name"@"version"` for messages about an artifact whose fields are not trusted yet. */
export function untrustedLabel(a: Partial<Pick<Artifact, 'kind' | 'name' | 'version'>>): string {
  return `${typeof a.kind === 'string' ? a.kind.replace(/[^a-z]/g, '?').slice(0, 16) : 'artifact'} ${shown(a.name ?? '')}${a.version ? (a.kind === 'image' && typeof a.version === 'string' && !a.version.startsWith('sha256:') ? ':' : '@') + shown(a.version) : ''}`;
}

export function fieldError(a: Partial<Artifact>, field: string, why: string): IntegrityError {
  return new IntegrityError(`bundle index: ${untrustedLabel(a)}: ${field} ${why}`, {
    subject: `${untrustedLabel(a)} ${field}`,
    hint: 'airgap refuses to publish this bundle: its signed index holds a value that is not safe or not valid for its format (docs/security.md); ask the outside to re-pack it',
  });
}

export interface TextRule {
  /** Most characters allowed (default 256). */
  max?: number;
  /** Allow '' (default false). */
  empty?: boolean;
  /** Allow LF and TAB (never CR or other controls). */
  multiline?: boolean;
  /** The format's grammar, and its name in the message. */
  pattern?: RegExp;
  expected?: string;
}

/** A string field: present, length-limited, no control characters (unless multiline: LF/TAB only), matching the grammar. */
export function checkText(a: Partial<Artifact>, field: string, v: unknown, rule: TextRule = {}): string {
  if (typeof v !== 'string') throw fieldError(a, field, `must be a string, not ${v === null ? 'null' : typeof v}`);
  if (v === '' && !rule.empty) throw fieldError(a, field, 'is empty');
  const max = rule.max ?? 256;
  if (v.length > max) throw fieldError(a, field, `is ${v.length} characters long, more than the ${max} allowed`);
  if ((rule.multiline ? CONTROL_BUT_LF_TAB : CONTROL).test(v)) throw fieldError(a, field, `${shown(v)} holds a control character or line break`);
  if (rule.pattern && v !== '' && !rule.pattern.test(v)) throw fieldError(a, field, `${shown(v)} is not ${rule.expected ?? 'valid'}`);
  return v;
}

/** Optional string field: undefined passes, anything else is checkText. */
export function checkOptionalText(a: Partial<Artifact>, field: string, v: unknown, rule: TextRule = {}): string | undefined {
  return v === undefined ? undefined : checkText(a, field, v, rule);
}

/** One path segment: no `/`, `\`, NUL, `.` or `..`, no controls, at most 255 characters (a file name). */
export function checkSegment(a: Partial<Artifact>, field: string, v: unknown, rule: TextRule = {}): string {
  const s = checkText(a, field, v, { max: 255, ...rule, multiline: false });
  if (s === '.' || s === '..') throw fieldError(a, field, `${shown(s)} is not a file name`);
  if (/[/\\]/.test(s)) throw fieldError(a, field, `${shown(s)} holds a path separator`);
  return s;
}

/** A relative path of safe segments: not absolute, no `..`, `.` or empty segments, no backslash, at most 1024 characters. */
export function checkRelativePath(a: Partial<Artifact>, field: string, v: unknown, rule: TextRule = {}): string {
  const s = checkText(a, field, v, { max: 1024, ...rule, pattern: undefined, multiline: false });
  if (s.startsWith('/')) throw fieldError(a, field, `${shown(s)} is an absolute path`);
  if (s.includes('\\')) throw fieldError(a, field, `${shown(s)} holds a backslash`);
  for (const seg of s.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw fieldError(a, field, `${shown(s)} has a ${seg === '' ? 'empty' : shown(seg)} segment`);
    if (seg.length > 255) throw fieldError(a, field, `${shown(s)} has a segment longer than 255 characters`);
    if (rule.pattern && !rule.pattern.test(seg)) throw fieldError(a, field, `${shown(s)}: segment ${shown(seg)} is not ${rule.expected ?? 'valid'}`);
  }
  return s;
}

/** `^[A-Za-z_][A-Za-z0-9_]*$`: the name of an environment variable. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An optional record naming where credentials come from (`meta.auth`: `usernameEnv`, `passwordEnv`,
 * `tokenEnv`, and a `host`): every `…Env` value an environment variable name, every other value
 * single-line text. Never the credentials themselves (docs/security.md).
 */
export function checkEnvNames(a: Partial<Artifact>, field: string, v: unknown): void {
  if (v === undefined) return;
  for (const [k, x] of Object.entries(checkRecord(a, field, v))) {
    if (k.endsWith('Env')) checkText(a, `${field}.${k}`, x, { max: 128, pattern: ENV_NAME, expected: 'an environment variable name' });
    else checkText(a, `${field}.${k}`, x, { max: 255 });
  }
}

export function checkList(a: Partial<Artifact>, field: string, v: unknown, max = 256): unknown[] {
  if (!Array.isArray(v)) throw fieldError(a, field, 'must be a list');
  if (v.length > max) throw fieldError(a, field, `has ${v.length} items, more than the ${max} allowed`);
  return v;
}

export function checkRecord(a: Partial<Artifact>, field: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fieldError(a, field, 'must be an object');
  return v as Record<string, unknown>;
}

/**
 * What every artifact must satisfy whatever its kind: name, version, platform and upstream URL are
 * single-line, bounded text; at least one blob; `digest` is the one the ecosystem derives from its blobs
 * (for every kind airgap carries: the main blob's digest, which for images is also the OCI root).
 * Ecosystems call this first, then check their own fields.
 */
export function checkArtifactBasics(a: Artifact): void {
  checkText(a, 'name', a.name, { max: 512 });
  checkText(a, 'version', a.version, { max: 256, empty: true });
  checkOptionalText(a, 'platform', a.platform, { max: 128 });
  if (!Array.isArray(a.blobs) || a.blobs.length === 0) throw fieldError(a, 'blobs', 'is empty: an artifact needs at least its main blob');
  a.blobs.forEach((b, i) => {
    checkText(a, `blobs[${i}].mediaType`, b.mediaType, { max: 255, pattern: MEDIA_TYPE, expected: 'a media type' });
    // Blob digests become blob paths in a mirror and URL paths at a registry.
    if (!isDigest(b.digest)) throw fieldError(a, `blobs[${i}].digest`, `${shown(b.digest)} is not a sha256 digest`);
    if (!Number.isSafeInteger(b.size) || b.size < 0) throw fieldError(a, `blobs[${i}].size`, 'is not a byte count');
  });
  if (!isDigest(a.digest)) throw fieldError(a, 'digest', `${shown(a.digest)} is not a sha256 digest`);
  if (a.digest !== a.blobs[0].digest) throw fieldError(a, 'digest', `${a.digest} is not the digest of its main blob (${a.blobs[0].digest})`);
  if (a.oci && a.oci.root.digest !== a.digest) throw fieldError(a, 'oci.root.digest', `${a.oci.root.digest} is not the artifact digest ${a.digest}`);
  if (a.oci) {
    checkText(a, 'oci.root.mediaType', a.oci.root.mediaType, { max: 255, pattern: MEDIA_TYPE, expected: 'a media type' });
    if (a.oci.root.size !== a.blobs[0].size) throw fieldError(a, 'oci.root.size', 'is not the size of the main blob');
    if (a.oci.root.annotations !== undefined) checkTree(a, 'oci.root.annotations', a.oci.root.annotations);
  }
  if (a.oci) checkText(a, 'oci.refName', a.oci.refName, { max: 512 });
  a.blobs.forEach((b, i) => {
    if (b.annotations !== undefined) checkTree(a, `blobs[${i}].annotations`, b.annotations);
  });
  if (a.meta !== undefined) checkTree(a, 'meta', a.meta);
  if (a.upstream !== undefined) {
    const u = checkRecord(a, 'upstream', a.upstream);
    checkText(a, 'upstream.url', u.url, { max: 4096, empty: true });
    checkOptionalText(a, 'upstream.verified', u.verified, { max: 4096, empty: true });
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Every key and string anywhere below `field` (ecosystem metadata carried as the upstream wrote it:
 * descriptions, npm manifests, index entries): no NUL, escape or other control characters (TAB, LF and
 * CR are text), each at most 1 MiB, at most 32 levels and 200,000 values. The ecosystem checks the fields
 * that become paths or lines by their own stricter rules.
 */
export function checkTree(a: Partial<Artifact>, field: string, v: unknown): void {
  let budget = 200_000;
  const walk = (x: unknown, at: string, depth: number): void => {
    if (--budget < 0) throw fieldError(a, field, 'holds more than 200000 values');
    if (depth > 32) throw fieldError(a, at, 'is nested more than 32 levels deep');
    if (typeof x === 'string') {
      if (x.length > 1 << 20) throw fieldError(a, at, `is ${x.length} characters long, more than the ${1 << 20} allowed`);
      if (CONTROL_IN_TEXT.test(x)) throw fieldError(a, at, `${shown(x)} holds a control character`);
    } else if (Array.isArray(x)) {
      x.forEach((y, i) => walk(y, `${at}[${i}]`, depth + 1));
    } else if (typeof x === 'object' && x !== null) {
      for (const [k, y] of Object.entries(x)) {
        if (k.length > 256 || CONTROL_IN_TEXT.test(k) || /[\r\n]/.test(k)) throw fieldError(a, at, `has a key ${shown(k)} that is not a plain name`);
        walk(y, `${at}.${k}`, depth + 1);
      }
    }
  };
  walk(v, field, 0);
}
