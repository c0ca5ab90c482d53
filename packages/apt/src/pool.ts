import { posix } from 'node:path';
import { IntegrityError, UpstreamError, type Artifact } from '@airgap/core';

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9+._~-]*$/;

/** An index `Filename` must stay inside the archive: relative, no `..`. */
export function checkPoolRelative(filename: string, where: string): string {
  const norm = posix.normalize(filename);
  if (norm.startsWith('/') || norm.split('/').some((s) => s === '..' || s === '') || filename.includes('\\') || filename.includes('\0')) {
    throw new UpstreamError(`apt package ${where} has an unsafe Filename ${JSON.stringify(filename)}`, { subject: where });
  }
  return norm;
}

function segment(s: string, what: string, a: Pick<Artifact, 'name' | 'version'>): string {
  if (!SAFE_SEGMENT.test(s)) throw new IntegrityError(`apt ${a.name} ${a.version}: ${what} ${JSON.stringify(s)} is not safe in a path`, { subject: `${a.name} ${a.version}` });
  return s;
}

export interface AptMeta {
  control: Record<string, string>;
  component: string;
  suite: string;
  architectures: string[];
  filename: string;
}

export function aptMeta(a: Artifact): AptMeta {
  const m = a.meta as Partial<AptMeta> | undefined;
  if (!m?.control || !m.component || !m.suite) throw new IntegrityError(`apt artifact ${a.name} ${a.version} has no control/component/suite metadata`, { subject: `${a.name} ${a.version}` });
  return { architectures: [], filename: '', ...m } as AptMeta;
}

/** Pool prefix as the Debian archive uses it: `libc` packages under `libc/`, others under their first letter. */
function poolPrefix(source: string): string {
  return source.startsWith('lib') && source.length > 3 ? source.slice(0, 4) : source.slice(0, 1);
}

/**
 * Where a .deb lands in a `dir:` mirror: the Debian archive layout
 * `pool/<component>/<prefix>/<source>/<package>_<version without epoch>_<arch>.deb`.
 * Every segment comes from the signed bundle index and is still checked, so nothing lands outside the mirror.
 */
export function dirPoolPath(a: Artifact): string {
  const m = aptMeta(a);
  const source = (m.control.Source ?? a.name).split(/\s/)[0];
  const component = m.component.split('/').map((c) => segment(c, 'component', a)).join('/');
  const version = a.version.replace(/^\d+:/, '');
  const file = `${segment(a.name, 'package name', a)}_${segment(version, 'version', a)}_${segment(a.platform ?? 'all', 'architecture', a)}.deb`;
  return `pool/${component}/${poolPrefix(segment(source, 'source name', a))}/${source}/${file}`;
}

/** Where Nexus stores an uploaded .deb (nexus-public AptFacetHelper.buildAssetPath): `pool/<p>/<pkg>/<pkg>_<ver>_<arch>.deb`. */
export function nexusAssetPath(a: Artifact): string {
  return `pool/${a.name.slice(0, 1)}/${a.name}/${a.name}_${a.version}_${a.platform ?? 'all'}.deb`;
}
