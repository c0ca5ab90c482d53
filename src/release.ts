import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { UsageError } from '@airgap/core';
import { releaseBuild, toolVersion } from './version.js';

/** A file of airgap's own release to carry beside the parts: its name in the bundle and where it is now. */
export interface ToolReleaseFile {
  file: string;
  path: string;
}

/**
 * The release `pack --include-tool` (or manifest `tool: true`) carries (docs/release.md): the executable
 * named with --tool-release; else, when this airgap is the single executable, itself; else the one
 * `npm run dist` wrote into dist-release/ of this checkout. Its `.minisig` comes along when it is there.
 */
export async function findToolRelease(explicit: string | undefined): Promise<ToolReleaseFile[]> {
  const version = toolVersion.replace(/^airgap\//, '');
  const name = `airgap-${version}-linux-x64`;
  const exe = explicit ?? (releaseBuild ? process.execPath : fileURLToPath(new URL(`../../dist-release/${name}`, import.meta.url)));
  try {
    await access(exe);
  } catch (e) {
    throw new UsageError(`--include-tool: no airgap release at ${exe}`, {
      subject: exe,
      hint: 'build it with: npm run dist -- --key keys/outside.key (docs/release.md), or name it with --tool-release FILE',
      cause: e,
    });
  }
  const files: ToolReleaseFile[] = [{ file: name, path: exe }];
  const sig = `${exe}.minisig`;
  if (await access(sig).then(() => true, () => false)) files.push({ file: `${name}.minisig`, path: sig });
  return files;
}
