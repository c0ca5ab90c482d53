import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type CosmiconfigResult, type PublicExplorer, getDefaultSearchPlaces, globalConfigSearchPlaces } from 'cosmiconfig';
import { UsageError } from './errors.js';
import { MAX_DOCUMENT_BYTES, assertRegularFile } from './regular-file.js';

/**
 * The folders cosmiconfig's `global` search strategy visits, in its order (docs/config.md): `cwd`, each
 * parent up to the home folder (or `/` when cwd is not under it), then the user's config folder
 * (`$XDG_CONFIG_HOME/airgap` or `~/.config/airgap`; `~/Library/Preferences/airgap` on macOS, as env-paths names it).
 */
function* searchDirs(cwd: string, moduleName: string): Generator<{ dir: string; global: boolean }> {
  const home = os.homedir();
  let dir = cwd;
  yield { dir, global: false };
  while (dir !== path.resolve(home)) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    yield { dir: parent, global: false };
    dir = parent;
  }
  const configHome = process.platform === 'darwin' ? path.join(home, 'Library', 'Preferences') : process.env.XDG_CONFIG_HOME || path.join(home, '.config');
  yield { dir: path.join(configHome, moduleName), global: true };
}

/**
 * Find the config without `--config` (docs/security.md "No input blocks"): cosmiconfig's search order
 * and rules (first non-empty candidate wins; missing, folders and unreadable ones are skipped), but each
 * candidate is checked to be a regular file of at most 16 MiB — opened non-blocking, then `fstat` —
 * before cosmiconfig reads it, so a FIFO named like a config (`.airgaprc` in the current folder) is a
 * usage error at once instead of a run that blocks forever.
 */
export async function searchConfig(explorer: PublicExplorer, moduleName: string, cwd: string, labelOf: (file: string) => string): Promise<CosmiconfigResult> {
  for (const { dir, global } of searchDirs(cwd, moduleName)) {
    for (const place of global ? globalConfigSearchPlaces : getDefaultSearchPlaces(moduleName)) {
      const file = path.join(dir, place);
      const st = await stat(file).catch(() => undefined);
      if (!st || st.isDirectory()) continue;
      await assertRegularFile(file, { max: MAX_DOCUMENT_BYTES, what: 'the config', label: labelOf(file), hint: 'remove it or rename it, or pass the config with --config FILE' });
      let found: CosmiconfigResult;
      try {
        found = await explorer.load(file);
      } catch (e) {
        if (['ENOENT', 'EISDIR', 'ENOTDIR', 'EACCES'].includes((e as NodeJS.ErrnoException).code ?? '')) continue;
        throw e;
      }
      if (found && !found.isEmpty) return found;
    }
  }
  return null;
}

/** `--config FILE`: there, a regular file of at most 16 MiB (opened non-blocking), before the loader reads it. */
export async function assertReadableFile(file: string, label: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(file)).isFile();
  } catch (e) {
    throw new UsageError(`${label}: config file not found`, { subject: label, hint: 'check the path given to --config', cause: e });
  }
  if (!isFile) throw new UsageError(`${label}: is not a file`, { subject: label, hint: 'pass a config file to --config, not a folder' });
  // Regular (opened non-blocking) and at most 16 MiB, before the loader reads it (docs/security.md).
  await assertRegularFile(file, { max: MAX_DOCUMENT_BYTES, what: 'the config', label, hint: 'pass a config file of at most 16 MiB' });
}
