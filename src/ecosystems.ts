import { EcosystemRegistry } from '@airgap/core';
import { dirDriver } from './targets.js';

/**
 * Every ecosystem and target driver this build supports. Adding an ecosystem is its own package plus
 * one line here (docs/design.md: one interface across ecosystems). Each line declares the ecosystem's artifact
 * kind, manifest section and target settings blocks, and imports it only when a manifest, config or
 * bundle uses it: `airgap verify` of a bundle of files never loads the apt or OCI code (start-up time).
 * The registry checks each declaration against the ecosystem once loaded.
 */
export const ecosystems = new EcosystemRegistry()
  .lazy({ kind: 'file', manifestKey: 'files' }, async () => (await import('@airgap/files')).files)
  .lazy({ kind: 'chart', manifestKey: 'charts' }, async () => (await import('@airgap/helm')).charts)
  .lazy({ kind: 'image', manifestKey: 'images' }, async () => (await import('@airgap/oci')).images)
  .lazy({ kind: 'npm', manifestKey: 'npm', targetSettings: ['npm'] }, async () => (await import('@airgap/npm')).npm)
  .lazy({ kind: 'apt', manifestKey: 'apt', targetSettings: ['apt'] }, async () => (await import('@airgap/apt')).apt)
  .lazy({ kind: 'pypi', manifestKey: 'pypi' }, async () => (await import('@airgap/pypi')).pypi)
  .lazy({ kind: 'yum', manifestKey: 'yum', targetSettings: ['yum'] }, async () => (await import('@airgap/yum')).yum)
  .registerTarget(dirDriver)
  .lazyTarget('nexus', async () => (await import('@airgap/nexus')).nexusDriver)
  .lazyTarget('registries', async () => (await import('@airgap/nexus')).registriesDriver)
  .lazyTarget('s3', async () => (await import('@airgap/s3')).s3Driver);
