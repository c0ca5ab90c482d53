import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * The real apt-get with every piece of state in `root`: only the given sources list, no trusted keys
 * beyond what the list's `signed-by=` names, no preferences, and an empty dpkg status (a fresh system).
 */
export async function aptGet(root: string, sourcesList: string, arch: string, args: string[]) {
  for (const d of ['state/lists/partial', 'cache/archives/partial', 'trusted.d', 'prefs.d']) await mkdir(join(root, d), { recursive: true });
  await writeFile(join(root, 'status'), '');
  return execa('apt-get', [
    '-o', `Dir::Etc::SourceList=${sourcesList}`, '-o', 'Dir::Etc::SourceParts=/dev/null',
    '-o', `Dir::State=${join(root, 'state')}`, '-o', `Dir::State::status=${join(root, 'status')}`,
    '-o', `Dir::Cache=${join(root, 'cache')}`, '-o', `Dir::Etc::Trusted=${join(root, 'no-trusted.gpg')}`,
    '-o', `Dir::Etc::TrustedParts=${join(root, 'trusted.d')}`, '-o', `Dir::Etc::PreferencesParts=${join(root, 'prefs.d')}`,
    '-o', 'Dir::Etc::Preferences=/dev/null', '-o', 'Debug::NoLocking=1', '-o', 'APT::Sandbox::User=root',
    '-o', `APT::Architecture=${arch}`, '-o', 'APT::Get::Assume-Yes=1', ...args,
  ], { reject: false, env: { LC_ALL: 'C' } });
}
