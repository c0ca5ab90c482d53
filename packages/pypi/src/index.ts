import type { Ecosystem } from '@airgap/core';
import { pypiSource } from './source.js';
import { pypiDirPublisher } from './dir-publish.js';
import { pypiEndpointPublisher } from './endpoint-publish.js';
import { type PypiSpec, pypiSpecSchema } from './spec.js';
import { validatePypi } from './validate.js';
import { pypiBom } from './bom.js';

// What @airgap/serve and test/ use besides the ecosystem itself (the rest stays package-internal).
export type { PypiSpec } from './spec.js';
export { pypiSource, type PypiArtifactMeta } from './source.js';
export { pypiDirPublisher } from './dir-publish.js';
export { pypiEndpointPublisher } from './endpoint-publish.js';
export { normalizeName } from './names.js';
export { parseHtmlPage } from './simple-index.js';

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
