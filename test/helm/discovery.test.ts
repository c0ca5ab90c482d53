/**
 * Issue 10 `images: true`: the images a chart declares are found by reading the real .tgz (GNU tar + gzip
 * fixtures in Helm's layout): the artifacthub.io/images annotation, values.yaml image blocks and strings,
 * subchart archives (charts/*.tgz) and subchart folders (charts/<sub>/).
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { chartImages, readChartArchive } from '@airgap/helm';
import { tempDir } from '../harness/index.js';
import { makeCharts, packageChart, writeTree } from './fixtures.js';

describe('chart image discovery', () => {
  it('finds every image of a chart and its subcharts, with where each was found; templates are skipped with a warning', async () => {
    const work = await tempDir('airgap-helm-disc-');
    const fx = await makeCharts(work, 'registry.test:5000');
    const files = await readChartArchive(createReadStream(join(work, 'chart-out', 'web-1.2.0.tgz')), 'web');
    expect(files.map((f) => f.at).sort()).toEqual(['web', 'web/charts/cache-0.3.0.tgz', 'web/charts/metrics']);
    const warnings: string[] = [];
    const found = chartImages(files, (m) => warnings.push(m));
    expect(found.map((f) => ({ ref: f.ref, from: f.from.join('; ') })).sort((a, b) => a.ref.localeCompare(b.ref)))
      .toEqual([...fx.webImages].sort((a, b) => a.ref.localeCompare(b.ref)));
    expect(warnings).toEqual([expect.stringContaining('jobs.templated.image: image {{ .Values.global.registry }}/x:1 is a template')]);
  });

  it('a chart without images yields none', async () => {
    const work = await tempDir('airgap-helm-disc-');
    await makeCharts(work, 'r.test');
    const files = await readChartArchive(createReadStream(join(work, 'chart-out', 'tools-0.1.0.tgz')), 'tools');
    expect(chartImages(files, () => {})).toEqual([]);
  });

  it('an archive without Chart.yaml, or one that is not a gzipped tar, is refused with its name', async () => {
    const work = await tempDir('airgap-helm-disc-');
    await writeTree(join(work, 'src', 'nochart'), { 'values.yaml': 'image: a/b:1\n' });
    await packageChart(join(work, 'src'), 'nochart', join(work, 'nochart.tgz'));
    await expect(readChartArchive(createReadStream(join(work, 'nochart.tgz')), 'nochart')).rejects.toThrow(/nochart: no Chart.yaml in the archive/);
    await writeFile(join(work, 'junk.tgz'), 'this is not a tar archive at all, but long enough to look at '.repeat(20));
    await execa('gzip', ['-k', join(work, 'junk.tgz')]);
    await expect(readChartArchive(createReadStream(join(work, 'junk.tgz.gz')), 'junk')).rejects.toThrow();
  });
});
