import { validRange } from '@renovatebot/pep440';
import { type Marker, parseMarker } from './markers.js';
import { normalizeName } from './names.js';

/** A PEP 508 requirement: `name[extra,...] specifier ; marker`. */
export interface Requirement {
  /** As written. */
  text: string;
  /** Normalised (PEP 503). */
  name: string;
  extras: string[];
  /** PEP 440 specifier set, `''` for any version. */
  specifier: string;
  marker?: Marker;
  /** A direct reference (`name @ url`); airgap refuses these (nothing to resolve against an index). */
  url?: string;
}

export class RequirementSyntaxError extends Error {}

export function parseRequirement(text: string): Requirement {
  const src = text.trim();
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$/s.exec(src);
  if (!m) throw new RequirementSyntaxError(`not a PEP 508 requirement: ${JSON.stringify(text)}`);
  const name = normalizeName(m[1]);
  const extras = m[2]
    ? m[2].slice(1, -1).split(',').map((e) => e.trim()).filter(Boolean).map(normalizeName)
    : [];
  let rest = m[3].trim();
  let url: string | undefined;
  let markerText: string | undefined;
  if (rest.startsWith('@')) {
    // PEP 508: a URL requirement's marker needs whitespace before the `;`.
    const semi = rest.search(/\s;/);
    url = (semi < 0 ? rest.slice(1) : rest.slice(1, semi)).trim();
    markerText = semi < 0 ? undefined : rest.slice(semi + 2);
    rest = '';
  } else {
    const semi = rest.indexOf(';');
    if (semi >= 0) {
      markerText = rest.slice(semi + 1);
      rest = rest.slice(0, semi).trim();
    }
  }
  let specifier = rest.replace(/^\((.*)\)$/s, '$1').replace(/\s+/g, '');
  if (specifier && !validRange(specifier)) throw new RequirementSyntaxError(`invalid version specifier ${JSON.stringify(specifier)} in ${JSON.stringify(text)}`);
  let marker: Marker | undefined;
  if (markerText !== undefined) {
    try {
      marker = parseMarker(markerText.trim());
    } catch (e) {
      throw new RequirementSyntaxError(`${(e as Error).message} (in ${JSON.stringify(text)})`);
    }
  }
  specifier = specifier.replace(/,$/, '');
  return { text: src, name, extras, specifier, marker, url };
}

/** True when the specifier pins one version exactly (`==1.2.3` or `===…`, no wildcard): PEP 592 lets such a pin select a yanked file. */
export function pinsExactly(specifier: string): boolean {
  return specifier.split(',').some((s) => {
    const m = /^(===|==)(.+)$/.exec(s.trim());
    return Boolean(m && !m[2].endsWith('*'));
  });
}
