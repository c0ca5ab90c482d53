import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EcosystemRegistry, UsageError, loadManifest } from '@airgap/core';
import { afterAll, describe, expect, it } from 'vitest';
import { apt } from './index.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function load(yaml: string) {
  const d = await mkdtemp(join(tmpdir(), 'airgap-apt-spec-'));
  dirs.push(d);
  await writeFile(join(d, 'm.yaml'), yaml);
  return loadManifest(join(d, 'm.yaml'), new EcosystemRegistry().register(apt), {});
}

const head = 'apiVersion: airgap/v1\nkind: Bundle\nname: t\n';

describe('apt manifest entries (specSchema through the manifest loader)', () => {
  it('accepts every documented key', async () => {
    const m = await load(`${head}apt:\n  - url: https://deb.example.org/debian\n    suite: bookworm\n    components: [main]\n    architectures: [amd64]\n    keyring: [./k.gpg]\n    packages: [nginx, "curl (>= 7.88)"]\n    dependencies: true\n    alternatives: all\n    exclude: [systemd]\n  - url: system\n    packages: [jq]\n`);
    expect(m.sections.apt).toHaveLength(2);
  });

  it('refuses unknown keys, a missing packages list and a bad alternatives value (exit 2)', async () => {
    for (const bad of ['  - url: system\n    packages: [jq]\n    recommends: true\n', '  - url: system\n', '  - url: system\n    packages: [jq]\n    alternatives: some\n']) {
      const err = await load(`${head}apt:\n${bad}`).catch((e: unknown) => e);
      expect(err, bad).toBeInstanceOf(UsageError);
      expect((err as Error).message + String((err as UsageError).hint ?? '')).toMatch(/apt/);
    }
  });
});
