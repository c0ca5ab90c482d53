/**
 * Issue 17 "must show": `keyring:` on a chart repository entry. A .prov clearsigned by gpg passes (gpgv
 * checks the signature, the signed body gives the chart's sha256); a .prov edited after signing, a .prov
 * signed by a key outside the keyring and a chart without a .prov each exit 3 naming the chart.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, startStaticServer, tempDir, type StaticServer } from '../harness/index.js';
import { indexEntry, packageChart, sha256Hex, writeTree } from './fixtures.js';
import { gpgvCheck } from '../harness/gpgv.js';

let work: string;
let keys: string;
let site: StaticServer;
let keyring: string;

async function gpgHome(name: string): Promise<string> {
  const home = join(work, `gnupg-${name}`);
  await mkdir(home, { recursive: true, mode: 0o700 });
  await execa('gpg', ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', `Chart Signer ${name} <${name}@example.test>`, 'ed25519', 'sign', 'never']);
  return home;
}

async function clearsign(home: string, text: string): Promise<Buffer> {
  try {
    const { stdout } = await execa('gpg', ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', '--clearsign'], { input: text, stripFinalNewline: false, encoding: 'buffer' });
    return Buffer.from(stdout);
  } finally {
    await execa('gpgconf', ['--homedir', home, '--kill', 'all'], { reject: false });
  }
}

beforeAll(async () => {
  work = await tempDir('airgap-helm-keyring-');
  keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  const signer = await gpgHome('signer');
  const stranger = await gpgHome('stranger');
  keyring = join(work, 'signer.gpg');
  await execa('gpg', ['--batch', '--homedir', signer, '--yes', '--output', keyring, '--export']);
  const repo = join(work, 'site', 'repo');
  const entries: Record<string, unknown[]> = {};
  for (const name of ['good', 'tampered', 'stranger', 'unsigned']) {
    const chartYaml = `apiVersion: v2\nname: ${name}\nversion: 1.0.0\n`;
    await writeTree(join(work, 'src'), { [`${name}/Chart.yaml`]: chartYaml, [`${name}/values.yaml`]: 'a: 1\n' });
    const tgz = await packageChart(join(work, 'src'), name, join(repo, `${name}-1.0.0.tgz`));
    entries[name] = [indexEntry(name, '1.0.0', `${name}-1.0.0.tgz`, tgz)];
    if (name === 'unsigned') continue;
    // Helm's provenance: Chart.yaml, `...`, then the files with their sha256, clearsigned.
    const body = `${chartYaml}\n...\nfiles:\n  ${name}-1.0.0.tgz: sha256:${sha256Hex(tgz)}\n`;
    let prov = await clearsign(name === 'stranger' ? stranger : signer, body);
    if (name === 'tampered') prov = Buffer.from(prov.toString('utf8').replace('version: 1.0.0', 'version: 9.9.9'));
    await writeFile(join(repo, `${name}-1.0.0.tgz.prov`), prov);
  }
  await writeFile(join(repo, 'index.yaml'), stringifyYaml({ apiVersion: 'v1', entries }));
  site = await startStaticServer(join(work, 'site'));
}, 120_000);

afterAll(async () => {
  await site?.close();
});

async function manifest(name: string): Promise<string> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, `apiVersion: airgap/v1\nkind: Bundle\nname: k-${name}\ncharts:\n  - repo: ${site.url}repo\n    name: ${name}\n    keyring: ${keyring}\n`);
  return file;
}

const pack = (file: string) => runAirgapJson<{ bundle: string }>(['pack', file, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });

describe('charts keyring:', () => {
  it('passes a chart whose .prov is signed by a key in the keyring, and says how it was verified', async () => {
    const r = await pack(await manifest('good'));
    expect(r.exitCode, r.stderr).toBe(0);
    const parts = join(r.json.bundle, 'part-00001');
    const index = JSON.parse(String((await execa('tar', ['-xOf', parts, 'airgap-index.json'])).stdout));
    expect(index.artifacts[0].upstream.verified).toMatch(/\.prov PGP signature by [0-9A-F]{40} verified with gpgv/);
    expect(index.artifacts[0].blobs).toHaveLength(2);
  });

  for (const [what, name, message] of [
    ['a .prov edited after it was signed', 'tampered', 'the PGP signature does not verify'],
    ['a .prov signed by a key outside the keyring', 'stranger', 'the PGP signature does not verify'],
    ['a chart without a .prov', 'unsigned', 'has no .prov provenance file'],
  ] as const) {
    it(`refuses ${what} with exit 3 naming the chart`, async () => {
      const r = await runAirgap(['pack', await manifest(name), '--out', join(work, `out-${name}`), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toContain(`chart ${name}@1.0.0`);
      expect(r.stderr).toContain(message);
    });
  }

  it('the keyring file is the one given (the control: gpgv itself accepts the good .prov with it)', async () => {
    const ok = await gpgvCheck(keyring, join(work, 'site', 'repo', 'good-1.0.0.tgz.prov'));
    expect(ok.exitCode).toBe(0);
    expect((await readFile(keyring)).length).toBeGreaterThan(0);
  });
});
