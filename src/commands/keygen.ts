import { Flags } from '@oclif/core';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { generateKeyPair, writeKeyPair } from '@airgap/bundle';
import { AirgapCommand } from '../base-command.js';
import { passphraseSource } from '../passphrase.js';

export default class Keygen extends AirgapCommand {
  static override summary = 'Create an Ed25519 signing key pair (minisign format).';
  static override description = `Writes NAME.key (the secret key, mode 0600: keep it on the outside, where bundles are packed) and NAME.pub (the public key in minisign format: copy it inside, where bundles are verified). Prints the key id. Refuses to overwrite an existing key unless --force is given.

--encrypt protects NAME.key with a passphrase in minisign's own encrypted format (scrypt, as \`minisign -G\` writes it; \`minisign -S\` signs with it too). The passphrase is asked on the terminal (twice, not echoed), or read from the file AIRGAP_KEY_PASSWORD_FILE names (one line). pack and split then ask for it, or read it from AIRGAP_KEY_PASSWORD_FILE in cron; a wrong passphrase is exit 2 (docs/security.md).

Exit codes: one table for every command, docs/exit-codes.md (0 ok, 1 runtime, 2 usage or config, 3 integrity or trust).`;
  static override examples = [
    '<%= config.bin %> keygen --out-dir keys --name outside',
    '<%= config.bin %> keygen --out-dir /etc/airgap --name dmz-2026 --json',
    '<%= config.bin %> keygen --out-dir keys --name outside --encrypt   # asks for a passphrase',
    'AIRGAP_KEY_PASSWORD_FILE=/etc/airgap/key.pass <%= config.bin %> keygen --out-dir keys --encrypt   # unattended',
  ];
  static override flags = {
    'out-dir': Flags.string({ description: 'folder for NAME.key and NAME.pub', default: '.' }),
    name: Flags.string({ description: 'file name stem of the key pair', default: 'airgap' }),
    force: Flags.boolean({ description: 'overwrite an existing key pair', default: false }),
    encrypt: Flags.boolean({ description: "protect NAME.key with a passphrase (minisign's scrypt format; TTY prompt or AIRGAP_KEY_PASSWORD_FILE)", default: false }),
  };

  async run(): Promise<{ keyId: string; key: string; pub: string; encrypted: boolean }> {
    const { flags } = await this.parse(Keygen);
    this.makeReporter(this.jsonEnabled());
    await mkdir(resolve(flags['out-dir']), { recursive: true });
    const passphrase = flags.encrypt ? await passphraseSource({ confirm: true })() : undefined;
    const sk = generateKeyPair();
    const { keyFile, pubFile } = await writeKeyPair(resolve(flags['out-dir']), flags.name, sk, { force: flags.force, passphrase });
    this.log(`key id ${sk.keyId}\nsecret key: ${keyFile} (keep it outside; mode 0600${passphrase === undefined ? '' : '; encrypted with the passphrase'})\npublic key: ${pubFile} (copy it inside and list it under trust:)`);
    return { keyId: sk.keyId, key: keyFile, pub: pubFile, encrypted: passphrase !== undefined };
  }
}
