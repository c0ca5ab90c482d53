import ssri from 'ssri';

/** The hash of a version's tarball the registry vouches for: the strongest of `dist.integrity`, else `dist.shasum`. */
export interface ExpectedHash {
  /** A node crypto hash name, as ssri picks it (sha512 over sha384 over sha256 over sha1, …). */
  algorithm: string;
  /** Base64 for SRI, hex for a bare `shasum`. */
  value: string;
  encoding: 'base64' | 'hex';
  /** Where it came from, for the bundle index: `dist.integrity` or `dist.shasum`. */
  source: 'integrity' | 'shasum';
}

/**
 * `dist.integrity` (SRI, may list several hashes) parsed and ranked by ssri, npm's own SRI library (as
 * pacote does), else `dist.shasum` (hex SHA-1, registries before 2017).
 */
export function expectedHash(dist: { integrity?: string; shasum?: string }): ExpectedHash | undefined {
  if (typeof dist.integrity === 'string' && dist.integrity.trim()) {
    const parsed = ssri.parse(dist.integrity);
    const algorithm = parsed?.pickAlgorithm();
    const value = algorithm ? parsed[algorithm]?.[0]?.digest : undefined;
    if (algorithm && value) return { algorithm, value, encoding: 'base64', source: 'integrity' };
  }
  if (typeof dist.shasum === 'string' && /^[a-f0-9]{40}$/i.test(dist.shasum)) {
    return { algorithm: 'sha1', value: dist.shasum.toLowerCase(), encoding: 'hex', source: 'shasum' };
  }
  return undefined;
}

/** Two SRI strings name the same bytes when their strongest shared algorithm has the same digest (ssri's match, npm's rule). */
export function sameIntegrity(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const parsed = ssri.parse(a);
  return Boolean(parsed && parsed.match(b));
}
