import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, tempDir } from '../harness/index.js';
import { forgeBundle, goodArtifacts, signingKey } from './forge.js';

/**
 * docs/security.md "No input blocks" and "Messages never repeat values from the file": FIFOs instead of
 * bundle files, manifests, configs and keys are refused at once (never read, no lock left held); oversized
 * or over-long manifests are exit 2 fast; syntax errors name file:line:column and the kind only; a
 * binary file is "not YAML (binary data at byte N)"; credentials in a source URL are exit 2.
 */
let root: string;
let bundle: string;
let pub: string;
const FAST = { timeoutMs: 60_000 };

beforeAll(async () => {
  root = await tempDir('airgap-sec-inputs-');
  const k = await signingKey(join(root, 'keys'));
  pub = k.pubFile;
  bundle = await forgeBundle(join(root, 'b'), k.key, [goodArtifacts().file()], { chunkSize: 4096 });
});

async function withFifo(file: string): Promise<string> {
  const dir = join(root, `fifo-${file}`);
  await cp(bundle, dir, { recursive: true });
  await rm(join(dir, file));
  await execa('mkfifo', [join(dir, file)]);
  return dir;
}

describe('no input blocks', () => {
  for (const file of ['bundle.json', 'bundle.json.minisig', 'SHA256SUMS', 'part-00001']) {
    it(`a FIFO as ${file}: verify and unpack exit 3 at once, and no lock is left held`, async () => {
      const dir = await withFifo(file);
      const v = await runAirgap(['verify', dir, '--pub', pub], FAST);
      expect(v.stderr).toMatch(new RegExp(`${file}.*(is a FIFO, not a regular file|not a regular file)`));
      expect(v.exitCode).toBe(3);
      const ledger = join(root, `ledger-${file}.jsonl`);
      const u = await runAirgap(['unpack', dir, '--to', `dir:${join(root, `m-${file}`)}`, '--pub', pub, '--ledger', ledger], FAST);
      expect(u.exitCode, u.stderr).toBe(3);
      expect(u.stderr).toMatch(/is a FIFO|not a regular file/);
      expect((await readdir(root)).filter((f) => f.startsWith(`ledger-${file}`))).toEqual([]);
    });
  }

  it('a FIFO as the manifest, the config or a key: exit 2 at once', async () => {
    const fifo = join(root, 'manifest.yaml');
    await execa('mkfifo', [fifo]);
    const p = await runAirgap(['pack', fifo, '--out', join(root, 'out'), '--dry-run'], FAST);
    expect(p.stderr).toMatch(/manifest\.yaml: the manifest is a FIFO, not a regular file/);
    expect(p.exitCode).toBe(2);
    const c = await runAirgap(['verify', bundle, '--pub', pub, '--config', fifo], FAST);
    expect(c.stderr).toMatch(/is not a file|is a FIFO/);
    expect(c.exitCode).toBe(2);
    const k = await runAirgap(['verify', bundle, '--pub', fifo], FAST);
    expect(k.stderr).toMatch(/the public key is a FIFO/);
    expect(k.exitCode).toBe(2);
  });

  it('a FIFO named like a config in the current folder (found by the config search, no --config): exit 2 at once', async () => {
    const cwd = join(root, 'cwd-fifo');
    await mkdir(cwd, { recursive: true });
    await execa('mkfifo', [join(cwd, '.airgaprc.yaml')]);
    const r = await runAirgap(['verify', bundle, '--pub', pub], { ...FAST, cwd });
    expect(r.stderr).toMatch(/\.airgaprc\.yaml: the config is a FIFO, not a regular file: refused without reading it/);
    expect(r.exitCode).toBe(2);
  });

  it('a 50 MB manifest is exit 2 at once, without reading it, and says so in one line', async () => {
    const big = join(root, 'big.yaml');
    const entry = '  - url: http://127.0.0.1/f\n    sha256: "' + '0'.repeat(64) + '"\n';
    await writeFile(big, 'apiVersion: airgap/v1\nkind: Bundle\nname: big\nfiles:\n' + entry.repeat(Math.ceil((50 << 20) / entry.length)) + '  - typo: [\n');
    const t0 = Date.now();
    const r = await runAirgap(['pack', big, '--out', join(root, 'out'), '--dry-run'], FAST);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/big\.yaml: the manifest is \d+ bytes, more than the 16777216 allowed/);
    expect(r.stderr.length).toBeLessThan(2000);
    // Informational only (no timed assertion): the refusal does not depend on the size of the file.
    console.log(`50 MB manifest refused in ${Date.now() - t0} ms`);
  });

  it('more entries than --max-manifest-entries is exit 2 before any schema check', async () => {
    const m = join(root, 'many.yaml');
    const entry = '  - url: http://127.0.0.1/f\n    sha256: "' + '0'.repeat(64) + '"\n';
    await writeFile(m, 'apiVersion: airgap/v1\nkind: Bundle\nname: many\nfiles:\n' + entry.repeat(11));
    const r = await runAirgap(['pack', m, '--out', join(root, 'out'), '--dry-run', '--max-manifest-entries', '10'], FAST);
    expect(r.stderr).toMatch(/many\.yaml: 11 entries, more than the 10 allowed/);
    expect(r.exitCode).toBe(2);
  });
});

describe('messages never repeat values from the file', () => {
  it('a YAML syntax error next to a secret names file:line:column and the kind, not the text', async () => {
    const m = join(root, 'secret.yaml');
    await writeFile(m, 'apiVersion: airgap/v1\nkind: Bundle\nname: s\nnotify: "https://hooks.example/T000/SECRET-WEBHOOK-TOKEN\nfiles: [\n');
    const r = await runAirgap(['pack', m, '--out', join(root, 'out'), '--dry-run'], FAST);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/secret\.yaml:\d+:\d+: YAML syntax error: /);
    expect(r.stderr).not.toContain('SECRET-WEBHOOK-TOKEN');
    expect(r.stderr).not.toContain('hooks.example');
  });

  it('a binary manifest is "not YAML (binary data at byte N)", without its bytes', async () => {
    const m = join(root, 'binary.yaml');
    await writeFile(m, Buffer.concat([Buffer.from('apiVersion: airgap/v1\nname: '), Buffer.from([0x00, 0xff, 0x41, 0x1b]), Buffer.alloc(1 << 20, 0x41)]));
    const r = await runAirgap(['pack', m, '--out', join(root, 'out'), '--dry-run'], FAST);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/binary\.yaml: not YAML \(binary data at byte 28\)/);
    expect(r.stderr.length).toBeLessThan(2000);
  });

  it('credentials in a source URL: exit 2 naming the entry, pointing to usernameEnv/passwordEnv, never the password', async () => {
    const m = join(root, 'creds.yaml');
    await writeFile(m, `apiVersion: airgap/v1\nkind: Bundle\nname: c\nfiles:\n  - url: http://alice:Pa55-SECRET@127.0.0.1:9/x.bin\n    sha256: "${'0'.repeat(64)}"\n`);
    const r = await runAirgap(['pack', m, '--out', join(root, 'out'), '--dry-run'], FAST);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/creds\.yaml: files\[0\]\.url: the URL holds credentials .*usernameEnv\/passwordEnv/);
    expect(r.stderr).not.toContain('Pa55-SECRET');
  });
});
