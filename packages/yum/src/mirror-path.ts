import { UsageError } from '@airgap/core';
import type { Artifact } from '@airgap/core';
import type { YumMeta } from './source.js';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~^-]*$/;

/**
 * The mirror name and file of a yum artifact, from the (signed, verified) bundle index. Both become path
 * segments in a dir mirror or a Nexus repository, so they are checked to be single safe names.
 */
export function yumMeta(artifact: Artifact): YumMeta {
  const m = (artifact.meta ?? {}) as Partial<YumMeta>;
  const repo = String(m.repo ?? '');
  const file = String(m.file ?? '');
  const role = m.role === 'modules' ? 'modules' : 'rpm';
  for (const [what, v] of [['repository name', repo], ['file name', file]] as const) {
    if (!SAFE_NAME.test(v) || v.includes('..')) {
      throw new UsageError(`yum ${artifact.name}: ${what} ${JSON.stringify(v)} is not a safe name`, { subject: artifact.name, hint: 'the bundle index is malformed' });
    }
  }
  if (role === 'rpm' && !file.endsWith('.rpm')) throw new UsageError(`yum ${artifact.name}: ${file} is not an .rpm file name`, { subject: artifact.name });
  return { repo, role, file };
}
