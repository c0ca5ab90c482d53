import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gpgvCheck } from '../../../test/harness/gpgv.js';
import { signWithKey } from './gpg.js';

/**
 * The cause of the intermittent NO_PUBKEY in the apt tests (docs/security.md, "PGP keys"): the public key
 * was read from `gpg --export` through a helper that strips a final newline even from binary output, so
 * whenever the key's last byte was 0x0A (the end of its self-signature; one key in a few dozen) the
 * published keyring lost a byte and clients could not use it. test/fixtures/gpg/newline-key.secret.asc is
 * such a key (made by gpg, see the README there).
 */
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/gpg/newline-key.secret.asc', import.meta.url));
let dir: string;
let home: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-core-gpg-'));
  home = join(dir, 'home');
  await mkdir(home, { mode: 0o700 });
});

afterAll(async () => {
  await execa('gpgconf', ['--homedir', home, '--kill', 'all'], { reject: false });
  await rm(dir, { recursive: true, force: true });
});

/** The key's binary export as gpg writes it to a file (no pipe, no helper in between). */
async function exportedByGpg(): Promise<Buffer> {
  const gpg = (args: string[]) => execa('gpg', ['--batch', '--no-options', '--homedir', home, ...args]);
  await gpg(['--import', FIXTURE]);
  const out = join(dir, 'exported-by-gpg.gpg');
  await gpg(['--yes', '--output', out, '--export', 'newline@test.invalid']);
  return readFile(out);
}

describe('signWithKey', () => {
  it('publishes the whole binary public key, also when its last byte is a newline, and gpgv accepts it', async () => {
    const exported = await exportedByGpg();
    expect(exported[exported.length - 1], 'the fixture is a key whose export ends in a newline').toBe(0x0a);
    const file = join(dir, 'Release');
    await writeFile(file, 'Origin: test\n');
    const s = await signWithKey(FIXTURE, undefined, [{ file, mode: 'clearsign' }, { file, mode: 'detach' }], 'test gpgKey');
    expect(s.publicKey.length).toBe(exported.length);
    expect(Buffer.compare(s.publicKey, exported)).toBe(0);
    const ring = join(dir, 'published.gpg');
    await writeFile(ring, s.publicKey);
    await writeFile(join(dir, 'InRelease'), s.signatures[0]);
    await writeFile(join(dir, 'Release.gpg'), s.signatures[1]);
    const inline = await gpgvCheck(ring, join(dir, 'InRelease'));
    expect(inline.exitCode, inline.stderr).toBe(0);
    const detached = await gpgvCheck(ring, join(dir, 'Release.gpg'), file);
    expect(detached.exitCode, detached.stderr).toBe(0);
  });

  it('the control: the same key less its last byte is refused by gpgv (so the check above can fail)', async () => {
    const ring = join(dir, 'published.gpg');
    const whole = await readFile(ring);
    const cut = join(dir, 'cut.gpg');
    await writeFile(cut, whole.subarray(0, whole.length - 1));
    const r = await gpgvCheck(cut, join(dir, 'InRelease'));
    expect(r.exitCode).not.toBe(0);
  });
});
