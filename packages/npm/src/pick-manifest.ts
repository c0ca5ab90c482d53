import npmPickManifest from 'npm-pick-manifest';
import type { Packument, VersionManifest } from './packument.js';

/**
 * npm's choice of a version for a spec, by npm's own library (npm-pick-manifest, as arborist and pacote
 * use it): a tag is exactly that version; an exact version only itself; for a range the `latest` tag
 * wins when it satisfies (and is neither deprecated nor engine-incompatible); otherwise non-deprecated,
 * engine-compatible versions sort first, then the highest. Undefined when nothing matches. The
 * registry's own version object is returned untouched: npm-pick-manifest normalizes `bin` in place on
 * the object it picks, so it is given shallow copies (made once per packument), and the upstream's
 * manifest is what the inside is given.
 */
export function pickManifest(packument: Packument, wanted: string, nodeVersion = process.version): VersionManifest | undefined {
  let picked: { version: string } | null;
  try {
    picked = npmPickManifest(copyOf(packument), wanted === '' ? '*' : wanted, { nodeVersion });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ETARGET' || code === 'ENOVERSIONS') return undefined;
    throw e;
  }
  return picked ? packument.versions?.[picked.version] : undefined;
}

const copies = new WeakMap<Packument, Packument>();

function copyOf(packument: Packument): Packument {
  let c = copies.get(packument);
  if (!c) {
    const versions = Object.fromEntries(Object.entries(packument.versions ?? {}).map(([v, m]) => [v, { ...m }]));
    c = { ...packument, versions };
    copies.set(packument, c);
  }
  return c;
}
