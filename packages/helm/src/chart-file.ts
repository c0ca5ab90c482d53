import { UsageError } from '@airgap/core';

/**
 * `<name>-<version>.tgz`, the file name `helm package` gives a chart and the name it has in a mirror
 * and in a Nexus helm repository. Name and version come from the upstream index (and, at unpack, from
 * the verified bundle index); they are still checked so the file stays inside the mirror.
 */
export function chartFileName(name: string, version: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || !/^[A-Za-z0-9][A-Za-z0-9.+_-]*$/.test(version) || name.includes('..') || version.includes('..')) {
    throw new UsageError(`chart ${name}@${version}: not a safe chart name and version for a file name`, { subject: `chart ${name}@${version}` });
  }
  return `${name}-${version}.tgz`;
}
