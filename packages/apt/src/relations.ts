import type { RelationOp } from './version.js';

/** One alternative of a relationship field: `name[:arch] [(op version)]` (Policy §7.1). */
export interface Relation {
  name: string;
  /** `any`, `native` or an architecture name. */
  archQualifier?: string;
  op?: RelationOp;
  version?: string;
}

/** `a | b`: satisfied by any one alternative. */
export type RelationGroup = Relation[];

const OPS: Record<string, RelationOp> = { '<<': '<<', '<=': '<=', '=': '=', '>=': '>=', '>>': '>>', '<': '<=', '>': '>=' };

const RELATION_RE = /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^\s)]+)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>\s*)*$/i;

/** Parse one alternative; throws a plain Error naming the text (callers add the package/manifest context). */
export function parseRelation(text: string): Relation {
  const t = text.trim();
  const m = RELATION_RE.exec(t);
  if (!m) throw new Error(`not a package relation: ${JSON.stringify(t)}`);
  const rel: Relation = { name: m[1].toLowerCase() };
  if (m[2]) rel.archQualifier = m[2].toLowerCase();
  if (m[3]) {
    rel.op = OPS[m[3]];
    rel.version = m[4];
  }
  return rel;
}

/** Parse a `Depends`-style field: comma-separated groups of `|`-separated alternatives. */
export function parseRelations(field: string | undefined): RelationGroup[] {
  if (!field) return [];
  return field
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean)
    .map((g) => g.split('|').map(parseRelation));
}

/** `Provides: foo (= 1.0), bar` — only `=` is allowed there (Policy §7.5). */
export function parseProvides(field: string | undefined): { name: string; version?: string }[] {
  return parseRelations(field).flat().map((r) => (r.op === '=' ? { name: r.name, version: r.version } : { name: r.name }));
}

/** A manifest `packages:` item: a relation (`curl (>= 7.88)`, `nginx:amd64`) or apt's `name=version`. */
export function parsePackageRequest(text: string): RelationGroup {
  const eq = /^([a-z0-9][a-z0-9+.-]*(?::[a-z0-9-]+)?)=([^\s=]+)$/i.exec(text.trim());
  if (eq) return [{ ...parseRelation(eq[1]), op: '=', version: eq[2] }];
  return text.split('|').map(parseRelation);
}

export function formatRelation(r: Relation): string {
  return `${r.name}${r.archQualifier ? ':' + r.archQualifier : ''}${r.op ? ` (${r.op} ${r.version})` : ''}`;
}
