/**
 * keygen --encrypt (docs/security.md, key handling): minisign's scrypt-encrypted secret key, checked both
 * ways against the real minisign; the passphrase comes from AIRGAP_KEY_PASSWORD_FILE (cron) or a prompt on
 * a terminal (tmux, nothing echoed); a wrong or missing passphrase is exit 2 and never printed.
 * The keys made by the two tools use minisign's own scrypt cost (1 GiB each), so the file runs its tests
 * one after another; the failure and prompt tests use a key written at libsodium's INTERACTIVE cost (the
 * cost is read from the key file, so the code path is the same).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { encryptedSecretKeyText, generateKeyPair, publicKeyText } from '@airgap/bundle';
import { airgapBin, runAirgap, runAirgapJson, tempDir } from '../harness/index.js';

const PASS = 'correct horse battery';
let work: string;
let manifest: string;

beforeAll(async () => {
  work = await tempDir('airgap-enckey-');
  await writeFile(join(work, 'payload.txt'), 'signed with an encrypted key\n');
  manifest = join(work, 'm.yaml');
  await writeFile(manifest, 'apiVersion: airgap/v1\nkind: Bundle\nname: enckey\nfiles:\n  - url: ./payload.txt\n');
  await writeFile(join(work, 'pass'), PASS + '\n', { mode: 0o600 });
  await writeFile(join(work, 'wrong'), 'not the passphrase\n', { mode: 0o600 });
  // libsodium's crypto_pwhash_scryptsalsa208sha256_{OPS,MEM}LIMIT_INTERACTIVE
  const cheap = generateKeyPair();
  await writeFile(join(work, 'cheap.key'), await encryptedSecretKeyText(cheap, PASS, { opslimit: 524288, memlimit: 16777216 }), { mode: 0o600 });
  await writeFile(join(work, 'cheap.pub'), publicKeyText(cheap.publicKey));
});

const minisign = (args: string[], input: string) => execa('minisign', args, { cwd: work, input, reject: false, all: true });

describe.sequential('keygen --encrypt and encrypted keys', () => {
  it('a key from `airgap keygen --encrypt` signs with the real `minisign -S` (passphrase on stdin)', async () => {
    const k = await runAirgapJson<{ keyId: string; key: string; encrypted: boolean }>(['keygen', '--out-dir', work, '--name', 'ours', '--encrypt'], { env: { AIRGAP_KEY_PASSWORD_FILE: join(work, 'pass') } });
    expect(k.exitCode, k.stderr).toBe(0);
    expect(k.json.encrypted).toBe(true);
    const text = await readFile(join(work, 'ours.key'), 'utf8');
    expect(text).toMatch(/^untrusted comment: minisign encrypted secret key/);
    // kdf "Sc", checksum "B2", minisign's SENSITIVE limits (opslimit 2^25, memlimit 2^30)
    const body = Buffer.from(text.split('\n')[1], 'base64');
    expect(body.subarray(0, 6).toString('latin1')).toBe('EdScB2');
    expect([body.readBigUInt64LE(38), body.readBigUInt64LE(46)]).toEqual([33554432n, 1073741824n]);
    const s = await minisign(['-S', '-s', 'ours.key', '-m', 'payload.txt', '-t', 'by minisign'], PASS + '\n');
    expect(s.exitCode, s.all).toBe(0);
    const v = await execa('minisign', ['-Vm', 'payload.txt', '-p', 'ours.pub'], { cwd: work, reject: false, all: true });
    expect(v.exitCode, v.all).toBe(0);
    expect(v.all).toContain('Trusted comment: by minisign');
  });

  it('a key from `minisign -G` with a password packs via AIRGAP_KEY_PASSWORD_FILE; the bundle verifies', async () => {
    const g = await minisign(['-G', '-p', 'theirs.pub', '-s', 'theirs.key'], `${PASS}\n${PASS}\n`);
    expect(g.exitCode, g.all).toBe(0);
    expect(await readFile(join(work, 'theirs.key'), 'utf8')).toMatch(/^untrusted comment: minisign encrypted secret key/);
    const p = await runAirgapJson<{ bundle: string }>(['pack', manifest, '--out', join(work, 'out'), '--key', join(work, 'theirs.key'), '--cache', join(work, 'cache')], {
      env: { AIRGAP_KEY_PASSWORD_FILE: join(work, 'pass') },
    });
    expect(p.exitCode, p.stderr).toBe(0);
    const v = await runAirgapJson<{ verified: boolean }>(['verify', p.json.bundle, '--pub', join(work, 'theirs.pub')]);
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.json.verified).toBe(true);
    // and minisign itself agrees it is that key's signature
    const m = await execa('minisign', ['-Vm', join(p.json.bundle, 'bundle.json'), '-p', 'theirs.pub'], { cwd: work, reject: false, all: true });
    expect(m.exitCode, m.all).toBe(0);
  });

  it('a wrong passphrase is exit 2 with a clear message that does not echo it; no source at all is exit 2', async () => {
    const wrong = await runAirgap(['pack', manifest, '--out', join(work, 'out2'), '--key', join(work, 'cheap.key'), '--cache', join(work, 'cache')], {
      env: { AIRGAP_KEY_PASSWORD_FILE: join(work, 'wrong') },
    });
    expect(wrong.exitCode, wrong.stderr).toBe(2);
    expect(wrong.stderr).toContain('wrong passphrase');
    expect(wrong.stderr + wrong.stdout).not.toContain('not the passphrase');

    // No AIRGAP_KEY_PASSWORD_FILE and no terminal (stdin ignored): refused before any work, saying how.
    const none = await runAirgap(['pack', manifest, '--out', join(work, 'out3'), '--key', join(work, 'cheap.key'), '--cache', join(work, 'cache')]);
    expect(none.exitCode, none.stderr).toBe(2);
    expect(none.stderr).toContain('AIRGAP_KEY_PASSWORD_FILE');
  });

  it('on a terminal the passphrase is asked without echo: keygen --encrypt asks twice (a mismatch is exit 2), pack asks once', async () => {
    const session = `airgap-enckey-${process.pid}`;
    const tmux = (...args: string[]) => execa('tmux', ['-L', session, ...args], { reject: false });
    const screen = async () => (await tmux('capture-pane', '-p', '-S', '-100')).stdout;
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 600 && !re.test(await screen()); i++) await new Promise((r) => setTimeout(r, 100));
      return screen();
    };
    const type = async (text: string) => {
      await tmux('send-keys', '-l', text);
      await tmux('send-keys', 'Enter');
    };
    const airgap = `${process.execPath} ${airgapBin}`;
    const script = [
      `${airgap} keygen --out-dir ${work} --name tty --encrypt; echo KEYGEN_EXIT=$?`,
      `${airgap} pack ${manifest} --out ${join(work, 'out4')} --key ${join(work, 'cheap.key')} --cache ${join(work, 'cache')}; echo PACK_EXIT=$?`,
      'sleep 60',
    ].join('; ');
    await tmux('new-session', '-d', '-x', '160', '-y', '40', '-e', 'NO_COLOR=1', script);
    try {
      await waitFor(/Passphrase for the signing key:/);
      await type('first tty phrase');
      await waitFor(/Passphrase again:/);
      await type('second tty phrase');
      await waitFor(/KEYGEN_EXIT=\d+/);
      await waitFor(/KEYGEN_EXIT=[\s\S]*Passphrase for the signing key:/);
      await type(PASS);
      const out = await waitFor(/PACK_EXIT=\d+/);
      expect(out).toContain('the two passphrases differ');
      expect(out).toContain('KEYGEN_EXIT=2');
      expect(out).toContain('PACK_EXIT=0');
      for (const secret of ['first tty phrase', 'second tty phrase', PASS]) expect(out).not.toContain(secret);
    } finally {
      await tmux('kill-server');
    }
  });
});
