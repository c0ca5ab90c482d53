import { type Artifact, checkArtifactBasics, checkEnvNames, checkList, checkRecord, checkText, fieldError, shown } from '@airgap/core';
import { CHART_VERSION_FIELDS } from './source.js';

/** Chart names as Helm writes them into file names (`helm create` is stricter: lowercase and `-`). */
export const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** SemVer 2 characters (Helm requires a SemVer chart version). */
export const CHART_VERSION = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/;

/**
 * A chart artifact of the signed index (docs/security.md): name and version become `<name>-<version>.tgz`
 * in `helm/` and a Nexus helm repository, and `index.yaml` entries (written by a YAML serializer, which
 * quotes anything unusual); the entry holds only Helm's own index fields.
 */
export function validateChart(a: Artifact): void {
  checkArtifactBasics(a);
  checkText(a, 'name', a.name, { max: 128, pattern: CHART_NAME, expected: 'a chart name' });
  if (a.name.includes('..')) throw fieldError(a, 'name', 'holds ".."');
  checkText(a, 'version', a.version, { max: 128, pattern: CHART_VERSION, expected: 'a SemVer chart version' });
  if (a.version.includes('..')) throw fieldError(a, 'version', 'holds ".."');
  const m = checkRecord(a, 'meta', a.meta);
  if (m.source !== 'http') throw fieldError(a, 'meta.source', 'must be http (OCI charts are image artifacts)');
  const file = `${a.name}-${a.version}.tgz`;
  if (m.file !== undefined && m.file !== file) throw fieldError(a, 'meta.file', `must be ${shown(file)}`);
  if (typeof m.prov !== 'boolean') throw fieldError(a, 'meta.prov', 'must be true or false');
  if (a.blobs.length !== (m.prov ? 2 : 1)) throw fieldError(a, 'blobs', `must be the chart${m.prov ? ' and its .prov' : ''}`);
  checkText(a, 'meta.url', m.url, { max: 4096, empty: true });
  const entry = checkRecord(a, 'meta.entry', m.entry);
  for (const k of Object.keys(entry)) if (!CHART_VERSION_FIELDS.has(k)) throw fieldError(a, 'meta.entry', `holds ${shown(k)}, not a Helm index field`);
  if (entry.created !== undefined) checkText(a, 'meta.entry.created', entry.created, { max: 64 });
  checkEnvNames(a, 'meta.auth', m.auth);
  // The images a chart declares (images: true): image references and the chart files naming them, one line each.
  if (m.images !== undefined) {
    checkList(a, 'meta.images', m.images, 4096).forEach((x, i) => {
      const img = checkRecord(a, `meta.images[${i}]`, x);
      checkText(a, `meta.images[${i}].ref`, img.ref, { max: 512 });
      checkList(a, `meta.images[${i}].from`, img.from, 1024).forEach((f, j) => checkText(a, `meta.images[${i}].from[${j}]`, f, { max: 1024 }));
    });
  }
}
