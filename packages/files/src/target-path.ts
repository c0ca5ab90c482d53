import { posix } from 'node:path';
import { UsageError } from '@airgap/core';

/**
 * The relative path a file lands at under `files/`. It comes from the manifest at pack time and from
 * the (verified) bundle index at unpack time; either way it must stay inside the mirror.
 */
export function targetPath(sourceName: string, path: string | undefined): string {
  const base = posix.basename(sourceName);
  const joined = !path ? base : path.endsWith('/') ? path + base : path;
  return checkRelativePath(joined);
}

export function checkRelativePath(p: string): string {
  const norm = posix.normalize(p.replace(/^\.\//, ''));
  if (!norm || norm === '.' || norm.startsWith('/') || norm.split('/').includes('..') || norm.includes('\0') || norm.includes('\\')) {
    throw new UsageError(`file path ${JSON.stringify(p)} is not a safe relative path`, { subject: p, hint: 'use a relative path without .. such as tools/velero/' });
  }
  return norm;
}
