/** The strongest hash of an SRI string npm understands (ssri): sha512 > sha384 > sha256 > sha1. */
export interface ExpectedHash {
  algorithm: 'sha512' | 'sha384' | 'sha256' | 'sha1';
  /** Base64 for SRI, hex for a bare `shasum`. */
  value: string;
  encoding: 'base64' | 'hex';
  /** Where it came from, for the bundle index: `dist.integrity` or `dist.shasum`. */
  source: 'integrity' | 'shasum';
}

const RANK = ['sha1', 'sha256', 'sha384', 'sha512'] as const;

/** `dist.integrity` (SRI, may list several hashes), else `dist.shasum` (hex SHA-1, registries before 2017). */
export function expectedHash(dist: { integrity?: string; shasum?: string }): ExpectedHash | undefined {
  if (typeof dist.integrity === 'string' && dist.integrity.trim()) {
    let best: ExpectedHash | undefined;
    for (const token of dist.integrity.trim().split(/\s+/)) {
      const m = /^(sha512|sha384|sha256|sha1)-([A-Za-z0-9+/=]+)(?:\?.*)?$/.exec(token);
      if (!m) continue;
      const algorithm = m[1] as ExpectedHash['algorithm'];
      if (!best || RANK.indexOf(algorithm) > RANK.indexOf(best.algorithm)) best = { algorithm, value: m[2], encoding: 'base64', source: 'integrity' };
    }
    if (best) return best;
  }
  if (typeof dist.shasum === 'string' && /^[a-f0-9]{40}$/i.test(dist.shasum)) {
    return { algorithm: 'sha1', value: dist.shasum.toLowerCase(), encoding: 'hex', source: 'shasum' };
  }
  return undefined;
}
