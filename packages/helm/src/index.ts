import type { Ecosystem } from '@airgap/core';
import { chartSource } from './source.js';
import { chartDirPublisher } from './dir-publish.js';
import { chartEndpointPublisher } from './endpoint-publish.js';
import { type ChartSpec, chartSpecSchema } from './spec.js';
import { validateChart } from './validate.js';
import { chartBom } from './bom.js';

export type { ChartSpec, HttpChartSpec, OciChartSpec } from './spec.js';
export { chartSource, type ChartMeta, CHART_MEDIA_TYPE, PROV_MEDIA_TYPE } from './source.js';
export { chartDirPublisher } from './dir-publish.js';
export { chartEndpointPublisher } from './endpoint-publish.js';
export { readChartArchive, type ChartFiles } from './chart-archive.js';
export { chartImages, type FoundImage } from './chart-images.js';
export { resolveChartUrl, pickVersion } from './repo-index.js';

/** Helm charts (docs/manifest.md `charts`): HTTP repositories and OCI registries, published to `helm/` or a helm repository. */
export const charts: Ecosystem<ChartSpec> = {
  kind: 'chart',
  manifestKey: 'charts',
  specSchema: chartSpecSchema,
  source: chartSource,
  validate: validateChart,
  bom: chartBom,
  publish: { dir: chartDirPublisher, endpoint: chartEndpointPublisher },
};
export { validateChart } from './validate.js';
