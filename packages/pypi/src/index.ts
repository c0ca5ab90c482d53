import type { Ecosystem } from '@airgap/core';
import { pypiSource } from './source.js';
import { pypiDirPublisher } from './dir-publish.js';
import { pypiEndpointPublisher } from './endpoint-publish.js';
import { type PypiSpec, pypiSpecSchema } from './spec.js';
import { validatePypi } from './validate.js';
import { pypiBom } from './bom.js';

export type { PypiSpec } from './spec.js';
export type { PypiArtifactMeta } from './source.js';
export { pypiSource } from './source.js';
export { pypiDirPublisher } from './dir-publish.js';
export { pypiEndpointPublisher, twineUploadFields } from './endpoint-publish.js';
export { normalizeName } from './names.js';
export { parseHtmlPage, type ProjectFile } from './simple-index.js';
export { parseWheelFilename, supportedTags } from './tags.js';

/** PyPI (docs/manifest.md `pypi`): wheels and sdists resolved for a target Python and platform, published as a PEP 503 mirror or to a pypi-hosted repository. */
export const pypi: Ecosystem<PypiSpec> = {
  kind: 'pypi',
  manifestKey: 'pypi',
  specSchema: pypiSpecSchema,
  source: pypiSource,
  validate: validatePypi,
  bom: pypiBom,
  publish: { dir: pypiDirPublisher, endpoint: pypiEndpointPublisher },
};
export { validatePypi } from './validate.js';
