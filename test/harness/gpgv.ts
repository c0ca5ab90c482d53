import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * The real gpgv against exactly `keyring`, in an empty home of its own (so nothing in ~/.gnupg — which other
 * tools may create while the suite runs — takes part). `files` is a clearsigned file, or a detached signature
 * and its data. Returns gpgv's exit code and its messages (for the assertion text).
 */
export async function gpgvCheck(keyring: string, ...files: string[]): Promise<{ exitCode: number; stderr: string }> {
  const home = await mkdtemp(join(tmpdir(), 'airgap-test-gpgv-'));
  try {
    const r = await execa('gpgv', ['--homedir', home, '--keyring', keyring, ...files], { reject: false, env: { LC_ALL: 'C' } });
    return { exitCode: r.exitCode ?? 1, stderr: String(r.stderr) };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
