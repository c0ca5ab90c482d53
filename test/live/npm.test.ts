/**
 * `npm run test:live` only: the closure of express@4 from the registry this machine's npm is configured
 * with (read at run time) equals the set `npm install express@4` produces, names and versions; and the
 * same for larger trees.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { npm } from '@airgap/npm';
import { artifactSet, npmLsSet, sourceContext } from '../npm/lib-helpers.js';
import { npmEnv } from '../npm/verdaccio.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

// express@4 is the case; the others are large trees with peers, optional peers and
// platform-specific optional dependencies (kept for this machine's os/cpu, as npm installs them).
for (const roots of [['express@4'], ['@types/express@4', 'typescript@5'], ['jest@29'], ['react-scripts@5', 'react@18', 'react-dom@18']]) {
  it(`closure of ${roots.join(' ')} equals what npm install puts in node_modules`, async () => {
    const work = await mkdtemp(join(tmpdir(), 'airgap-npm-live-'));
    dirs.push(work);
    const registry = String((await execa('npm', ['config', 'get', 'registry'])).stdout).trim();
    const project = join(work, 'project');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'probe', version: '1.0.0', private: true }));
    await execa('npm', ['install', ...roots, '--ignore-scripts', '--no-audit', '--no-fund', '--cache', join(work, 'cache'), '--registry', registry], { cwd: project, env: npmEnv(), extendEnv: false });
    const installed = await npmLsSet(project);
    const ctx = sourceContext(join(work, 'store'), undefined, { dryRun: true });
    const artifacts = await npm.source.resolve({ registry: 'default', packages: roots, os: [process.platform], cpu: [process.arch] }, ctx);
    expect(installed.length).toBeGreaterThan(roots.length);
    expect(artifactSet(artifacts)).toEqual(installed);
  });
}
