import { readFile } from 'node:fs/promises';
import { IntegrityError, type Logger, UsageError, isDigest, silentLogger } from '@airgap/core';
import { type NewestBundles, noteBundle, scanLedger } from './ledger.js';
import { verifyLedger } from './verify.js';

export const RECEIPT_SCHEMA = 'airgap.receipt/v1';

/** An artifact known to be inside: the coordinates `pack --since` compares against. */
export interface ReceiptArtifact {
  name: string;
  version: string;
  platform: string | null;
  digest: string;
}

/**
 * What the inside holds, made from the ledger (docs/ledger.md), carried outside for `pack --since`.
 * `ledger` anchors the receipt in the chain: `airgap ledger verify --anchor` checks it later.
 */
export interface Receipt {
  schema: typeof RECEIPT_SCHEMA;
  created: string;
  ledger: { seq: number; sha256: string } | null;
  /** The target the receipt is about, or null for every target in the ledger. */
  target: string | null;
  /** Per kind: every artifact digest and every blob digest known to be inside, sorted. */
  digests: Record<string, string[]>;
  /** Per kind: every artifact known to be inside, by its coordinates and digest. */
  artifacts: Record<string, ReceiptArtifact[]>;
  /** The newest bundle of each name the ledger records. */
  bundles: Record<string, { created: string; sha256: string }>;
  /**
   * Every blob digest known to be inside: its kind, the targets that hold it and the bundle that carried
   * it in (the first `pushed`, else the first `present`). `pack --since` leaves these blobs out of new
   * artifacts (docs/transfer.md). Absent in receipts made before blobs were tracked per target.
   */
  carried?: Record<string, { kind: string; targets: string[]; bundle: { name: string; created: string } }>;
}

/** Identity of an artifact for `--since`: the same bytes under another name, tag or path are a different artifact. */
export function receiptKey(kind: string, a: { name: string; version: string; platform?: string | null; digest: string }): string {
  return [kind, a.name, a.version, a.platform ?? '', a.digest].join('\u0000');
}

export interface ReceiptOptions {
  /** Only what was recorded for this target. */
  target?: string;
  now?: Date;
  log?: Logger;
}

/**
 * `airgap ledger receipt`: every artifact the ledger records as `pushed` or `present` (they are inside),
 * with its blob digests, and the newest bundle per name. A ledger that fails verification makes no
 * receipt (exit 3): the outside would trust it to leave content out.
 */
export async function makeReceipt(path: string, opts: ReceiptOptions = {}): Promise<Receipt> {
  const log = opts.log ?? silentLogger;
  const check = await verifyLedger(path);
  if (check.fault) {
    throw new IntegrityError(`ledger ${path} line ${check.fault.line}: ${check.fault.reason}`, { subject: `${path}:${check.fault.line}`, hint: 'no receipt is made from a broken ledger; run airgap ledger verify and have the ledger looked at' });
  }
  if (check.head && !check.head.ok) {
    throw new IntegrityError(`ledger ${path}: ${check.head.reason}`, { subject: path, hint: 'no receipt is made from a ledger that lost records; run airgap ledger verify and have the ledger looked at' });
  }
  if (check.torn) log.warn(`ledger ${path} line ${check.torn.line}: ${check.torn.reason}; it is left out of the receipt`);
  const digests = new Map<string, Set<string>>();
  const artifacts = new Map<string, Map<string, ReceiptArtifact>>();
  const bundles: NewestBundles = new Map();
  const carried = new Map<string, { kind: string; targets: Set<string>; bundle: { name: string; created: string }; pushed: boolean }>();
  const add = (kind: string, d: string | null | undefined) => {
    if (!isDigest(d)) return;
    if (!digests.has(kind)) digests.set(kind, new Set());
    digests.get(kind)!.add(d);
  };
  await scanLedger(path, (r) => {
    if (opts.target !== undefined && r.target !== opts.target) return;
    noteBundle(bundles, r.bundle);
    if (r.kind === 'run' || (r.action !== 'pushed' && r.action !== 'present') || !isDigest(r.digest)) return;
    add(r.kind, r.digest);
    for (const b of r.blobs ?? []) {
      add(r.kind, b);
      if (!isDigest(b)) continue;
      const c = carried.get(b) ?? { kind: r.kind, targets: new Set<string>(), bundle: { name: r.bundle.name, created: r.bundle.created }, pushed: r.action === 'pushed' };
      if (!c.pushed && r.action === 'pushed') Object.assign(c, { bundle: { name: r.bundle.name, created: r.bundle.created }, pushed: true });
      if (r.target) c.targets.add(r.target);
      carried.set(b, c);
    }
    const a: ReceiptArtifact = { name: r.name, version: r.version, platform: r.platform, digest: r.digest };
    if (!artifacts.has(r.kind)) artifacts.set(r.kind, new Map());
    artifacts.get(r.kind)!.set(receiptKey(r.kind, a), a);
  });
  const sortedKeys = <T>(m: Map<string, T>) => [...m.keys()].sort();
  return {
    schema: RECEIPT_SCHEMA,
    created: (opts.now ?? new Date()).toISOString(),
    ledger: check.last,
    target: opts.target ?? null,
    digests: Object.fromEntries(sortedKeys(digests).map((k) => [k, [...digests.get(k)!].sort()])),
    artifacts: Object.fromEntries(sortedKeys(artifacts).map((k) => [k, [...artifacts.get(k)!.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([, a]) => a)])),
    bundles: Object.fromEntries(sortedKeys(bundles).map((k) => [k, bundles.get(k)!])),
    carried: Object.fromEntries(sortedKeys(carried).map((d) => {
      const c = carried.get(d)!;
      return [d, { kind: c.kind, targets: [...c.targets].sort(), bundle: c.bundle }];
    })),
  };
}

/** Read and check a receipt file (`pack --since`): malformed is a usage error naming the file and the field. */
export async function readReceipt(path: string): Promise<Receipt> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`receipt ${path} cannot be read: ${(e as Error).message}`, { subject: path, hint: 'make one inside with: airgap ledger receipt LEDGER --out receipt.json', cause: e });
  }
  const bad = (why: string) => new UsageError(`receipt ${path} is not an airgap receipt: ${why}`, { subject: path, hint: 'make one inside with: airgap ledger receipt LEDGER --out receipt.json' });
  let r: Receipt;
  try {
    r = JSON.parse(text) as Receipt;
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
  if (typeof r !== 'object' || r === null || r.schema !== RECEIPT_SCHEMA) throw bad(`schema is not ${RECEIPT_SCHEMA}`);
  if (typeof r.created !== 'string' || Number.isNaN(Date.parse(r.created))) throw bad('created is not a date');
  if (r.ledger !== null && (typeof r.ledger !== 'object' || !Number.isSafeInteger(r.ledger.seq) || !/^[a-f0-9]{64}$/.test(String(r.ledger.sha256)))) throw bad('ledger must be {seq, sha256} or null');
  for (const field of ['digests', 'artifacts', 'bundles'] as const) {
    if (typeof r[field] !== 'object' || r[field] === null || Array.isArray(r[field])) throw bad(`${field} must be an object`);
  }
  for (const [kind, list] of Object.entries(r.digests)) {
    if (!Array.isArray(list) || !list.every(isDigest)) throw bad(`digests.${kind} must be a list of sha256 digests`);
  }
  for (const [kind, list] of Object.entries(r.artifacts)) {
    if (!Array.isArray(list) || !list.every((a) => a && typeof a.name === 'string' && typeof a.version === 'string' && isDigest(a.digest))) {
      throw bad(`artifacts.${kind} must be a list of {name, version, platform, digest}`);
    }
  }
  if (r.carried !== undefined) {
    if (typeof r.carried !== 'object' || r.carried === null || Array.isArray(r.carried)) throw bad('carried must be an object');
    for (const [d, c] of Object.entries(r.carried)) {
      if (!isDigest(d) || !c || typeof c.kind !== 'string' || !Array.isArray(c.targets) || typeof c.bundle?.name !== 'string') throw bad(`carried.${d} must be {kind, targets, bundle}`);
    }
  }
  return r;
}
