/**
 * The self-contained release (docs/release.md): `scripts/dist.mjs` (npm run dist) builds the single
 * executable once for this file; a bundle packed with it carried beside the parts is checked with the
 * real sha256sum and minisign, then the carried executable verifies and unpacks the bundle on a PATH
 * that has no node (only the tools the operator uses are linked into it).
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, open, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StaticServer, repoRoot, runAirgap, startStaticServer, tempDir } from '../harness/index.js';

const version = (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const exeName = `airgap-${version}-linux-x64`;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const payload = 'carried across with airgap itself\n';
const passphrase = 'release day, correct horse';

let work: string;
let keys: string;
let release: string;
let bin: string;
let upstream: StaticServer;

/** Runs a program with only `bin` on PATH and nothing else from this environment (env -i). */
function bare(file: string, args: string[], cwd: string) {
  return execa(file, args, { cwd, env: { PATH: bin }, extendEnv: false, reject: false, stdin: 'ignore', timeout: 120_000 });
}

async function packWithTool(name: string, extra: string[], manifestTool: boolean): Promise<string> {
  const manifest = join(work, `${name}.yaml`);
  await writeFile(manifest, `apiVersion: airgap/v1\nkind: Bundle\nname: ${name}\n${manifestTool ? 'tool: true\n' : ''}files:\n  - url: ${upstream.url}notes.txt\n    sha256: ${sha256(payload)}\n    path: docs/\n`);
  const out = join(work, `out-${name}`);
  const r = await runAirgap(['pack', manifest, '--out', out, '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache'), '--tool-release', join(release, exeName), ...extra], { cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.trim();
}

beforeAll(async () => {
  work = await tempDir('airgap-release-');
  keys = join(work, 'keys');
  release = join(work, 'release');
  // The outside key encrypted (minisign's scrypt format), its passphrase in a file as cron gives it: dist
  // and every pack below read it from AIRGAP_KEY_PASSWORD_FILE.
  await writeFile(join(work, 'key.pass'), `${passphrase}\n`, { mode: 0o600 });
  process.env.AIRGAP_KEY_PASSWORD_FILE = join(work, 'key.pass');
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside', '--encrypt']);
  expect(k.exitCode, k.stderr).toBe(0);
  // minisign's encrypted secret key: algorithm Ed, KDF Sc (scrypt), checksum B2.
  expect(await readFile(join(keys, 'outside.key'), 'utf8')).toMatch(/^RWRTY0Iy/m);
  // The slow step (esbuild + postject on a ~100 MB binary), done once for the whole file.
  const d = await execa(process.execPath, [join(repoRoot, 'scripts/dist.mjs'), '--out', release, '--key', join(keys, 'outside.key')], { reject: false, cwd: repoRoot });
  expect(d.exitCode, d.stderr).toBe(0);
  await mkdir(join(work, 'upstream'));
  await writeFile(join(work, 'upstream', 'notes.txt'), payload);
  upstream = await startStaticServer(join(work, 'upstream'));
  // The inside's PATH: the operator's checking tools, and no node anywhere on it.
  bin = join(work, 'bin');
  await mkdir(bin);
  for (const tool of ['sha256sum', 'minisign']) {
    const found = await execa('sh', ['-c', `command -v ${tool}`]);
    await symlink(found.stdout.trim(), join(bin, tool));
  }
}, 600_000);

afterAll(async () => {
  delete process.env.AIRGAP_KEY_PASSWORD_FILE;
  await upstream?.close();
});

describe('npm run dist with an encrypted release key', () => {
  const dist = (out: string, env: Record<string, string | undefined>) =>
    execa(process.execPath, [join(repoRoot, 'scripts/dist.mjs'), '--out', out, '--key', join(keys, 'outside.key')], { reject: false, cwd: repoRoot, env, stdin: 'ignore' });

  it('a wrong passphrase is exit 2 before anything is built, and the passphrase is not printed', async () => {
    await writeFile(join(work, 'wrong.pass'), 'not the passphrase\n', { mode: 0o600 });
    const out = join(work, 'release-wrong');
    const r = await dist(out, { AIRGAP_KEY_PASSWORD_FILE: join(work, 'wrong.pass') });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^dist: .*passphrase/m);
    expect(r.stderr + r.stdout).not.toContain('not the passphrase');
    await expect(readdir(out)).rejects.toThrow();
  });

  it('no passphrase file and no terminal is exit 2 saying how to give one', async () => {
    const out = join(work, 'release-nopass');
    const r = await dist(out, { AIRGAP_KEY_PASSWORD_FILE: undefined });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('dist: a passphrase is needed and there is no terminal to ask on');
    expect(r.stderr).toContain('AIRGAP_KEY_PASSWORD_FILE');
    await expect(readdir(out)).rejects.toThrow();
  });
});

describe('npm run dist: the single executable', () => {
  it('writes the executable, SHA256SUMS and a minisign signature that the real tools accept', async () => {
    expect((await readdir(release)).sort()).toEqual(['SHA256SUMS', exeName, `${exeName}.minisig`]);
    const sums = await bare('sha256sum', ['-c', 'SHA256SUMS'], release);
    expect(sums.stdout).toContain(`${exeName}: OK`);
    expect(sums.exitCode).toBe(0);
    const sig = await bare('minisign', ['-Vm', exeName, '-p', join(keys, 'outside.pub')], release);
    expect(sig.stdout + sig.stderr).toContain('Signature and comment signature verified');
    expect(sig.exitCode).toBe(0);
  });

  it('runs with no node on PATH: --version and --help list every command of this build', async () => {
    expect((await execa('/bin/sh', ['-c', 'command -v node'], { env: { PATH: bin }, extendEnv: false, reject: false })).exitCode).not.toBe(0);
    const v = await bare(join(release, exeName), ['--version'], work);
    expect(v.stdout).toContain(`airgap/${version} linux-x64`);
    expect(v.stderr).toBe('');
    expect(v.exitCode).toBe(0);
    const h = await bare(join(release, exeName), ['--help'], work);
    const manifest = JSON.parse(await readFile(join(repoRoot, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, unknown> };
    for (const id of Object.keys(manifest.commands)) {
      const top = id.split(':')[0];
      expect(h.stdout).toMatch(new RegExp(`^\\s+${top}\\s`, 'm'));
    }
  });
});

describe('pack --include-tool / manifest tool: true', () => {
  it('carries the release beside the parts; the inside checks it, then verifies and unpacks with it, no node', async () => {
    const bundle = await packWithTool('with-tool', ['--include-tool'], false);
    const files = await readdir(bundle);
    expect(files).toContain(exeName);
    expect(files).toContain(`${exeName}.minisig`);
    const descriptor = JSON.parse(await readFile(join(bundle, 'bundle.json'), 'utf8')) as { toolRelease: { file: string; sha256: string }[] };
    expect(descriptor.toolRelease.map((c) => c.file)).toEqual([exeName, `${exeName}.minisig`]);
    expect(descriptor.toolRelease[0].sha256).toBe(sha256(await readFile(join(release, exeName))));
    // Not inside the tar: the parts hold only the bundle stream.
    const tarList = await execa('sh', ['-c', 'cat part-* | tar -tf -'], { cwd: bundle });
    expect(tarList.stdout).not.toContain(exeName);

    // The inside, first with tools that are not airgap: bundle.json's signature, then every checksum.
    const sigOk = await bare('minisign', ['-Vm', 'bundle.json', '-p', join(keys, 'outside.pub')], bundle);
    expect(sigOk.exitCode).toBe(0);
    const sums = await bare('sha256sum', ['-c', 'SHA256SUMS'], bundle);
    expect(sums.stdout).toContain(`${exeName}: OK`);
    expect(sums.stdout).toContain(`${exeName}.minisig: OK`);
    expect(sums.exitCode).toBe(0);
    const relSig = await bare('minisign', ['-Vm', exeName, '-p', join(keys, 'outside.pub')], bundle);
    expect(relSig.exitCode).toBe(0);

    // Then the carried airgap itself, with no node on PATH.
    const exe = join(bundle, exeName);
    const v = await bare(exe, ['verify', bundle, '--pub', join(keys, 'outside.pub')], work);
    expect(v.stderr).not.toMatch(/error/);
    expect(v.exitCode).toBe(0);
    const mirror = join(work, 'mirror');
    const u = await bare(exe, ['unpack', bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', join(work, 'ledger.jsonl')], work);
    expect(u.stderr).not.toMatch(/error/);
    expect(u.exitCode).toBe(0);
    expect(await readFile(join(mirror, 'files', 'docs', 'notes.txt'), 'utf8')).toBe(payload);
    expect(await readFile(join(work, 'ledger.jsonl'), 'utf8')).toContain('"action":"pushed"');
  });

  it('manifest tool: true carries it too; a carried release changed by one byte fails verify (exit 3, naming it)', async () => {
    const bundle = await packWithTool('tool-key', [], true);
    const tampered = join(work, 'tampered');
    await cp(bundle, tampered, { recursive: true });
    const fh = await open(join(tampered, exeName), 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, 5000);
    b[0] ^= 0xff;
    await fh.write(b, 0, 1, 5000);
    await fh.close();
    expect((await runAirgap(['verify', bundle, '--pub', join(keys, 'outside.pub')])).exitCode).toBe(0);
    const r = await runAirgap(['verify', tampered, '--pub', join(keys, 'outside.pub')]);
    expect(r.stderr).toContain(exeName);
    expect(r.exitCode).toBe(3);
  });

  it('a missing release is a usage error (exit 2) before anything is downloaded', async () => {
    const manifest = join(work, 'missing.yaml');
    await writeFile(manifest, `apiVersion: airgap/v1\nkind: Bundle\nname: missing\nfiles:\n  - url: ${upstream.url}notes.txt\n`);
    const before = upstream.requests.length;
    const r = await runAirgap(['pack', manifest, '--out', join(work, 'out-missing'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache-missing'), '--include-tool', '--tool-release', join(work, 'nope')], { cwd: work });
    expect(r.stderr).toContain(join(work, 'nope'));
    expect(r.stderr).toContain('npm run dist');
    expect(r.exitCode).toBe(2);
    expect(upstream.requests.length).toBe(before);
  });
});
