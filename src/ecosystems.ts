import { EcosystemRegistry } from '@airgap/core';
import { apt } from '@airgap/apt';
import { files } from '@airgap/files';
import { charts } from '@airgap/helm';
import { nexusDriver, registriesDriver } from '@airgap/nexus';
import { npm } from '@airgap/npm';
import { images } from '@airgap/oci';
import { pypi } from '@airgap/pypi';
import { s3Driver } from '@airgap/s3';
import { yum } from '@airgap/yum';
import { dirDriver } from './targets.js';

/**
 * Every ecosystem and target driver this build supports. Adding an ecosystem is its own package plus
 * one line here (STYLE: one interface across ecosystems).
 */
export const ecosystems = new EcosystemRegistry()
  .register(files)
  .register(charts)
  .register(images)
  .register(npm)
  .register(apt)
  .register(pypi)
  .register(yum)
  .registerTarget(dirDriver)
  .registerTarget(nexusDriver)
  .registerTarget(registriesDriver)
  .registerTarget(s3Driver);
