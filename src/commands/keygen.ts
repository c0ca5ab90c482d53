import { Flags } from '@oclif/core';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { generateKeyPair, writeKeyPair } from '@airgap/bundle';
import { AirgapCommand } from '../base-command.js';

export default class Keygen extends AirgapCommand {
  static override summary = 'Create an Ed25519 signing key pair (minisign format).';
  static override description = `Writes NAME.key (the secret key, mode 0600: keep it on the outside, where bundles are packed) and NAME.pub (the public key in minisign format: copy it inside, where bundles are verified). Prints the key id. Refuses to overwrite an existing key unless --force is given.`;
  static override examples = [
    '<%= config.bin %> keygen --out-dir keys --name outside',
    '<%= config.bin %> keygen --out-dir /etc/airgap --name dmz-2026 --json',
  ];
  static override flags = {
    'out-dir': Flags.string({ description: 'folder for NAME.key and NAME.pub', default: '.' }),
    name: Flags.string({ description: 'file name stem of the key pair', default: 'airgap' }),
    force: Flags.boolean({ description: 'overwrite an existing key pair', default: false }),
  };

  async run(): Promise<{ keyId: string; key: string; pub: string }> {
    const { flags } = await this.parse(Keygen);
    this.makeReporter(this.jsonEnabled());
    await mkdir(resolve(flags['out-dir']), { recursive: true });
    const sk = generateKeyPair();
    const { keyFile, pubFile } = await writeKeyPair(resolve(flags['out-dir']), flags.name, sk, { force: flags.force });
    this.log(`key id ${sk.keyId}\nsecret key: ${keyFile} (keep it outside; mode 0600)\npublic key: ${pubFile} (copy it inside and list it under trust:)`);
    return { keyId: sk.keyId, key: keyFile, pub: pubFile };
  }
}
