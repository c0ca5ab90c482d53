import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { airgapBin, repoRoot, runAirgap, tempDir } from '../harness/index.js';

const ECOSYSTEM_PACKAGES = ['apt', 'files', 'helm', 'npm', 'oci', 'pypi', 'yum'];

// Start-up (test/bench/startup.mjs): `--version` answers before oclif loads, and a command loads only the
// ecosystems its manifest, config or bundle uses. The module list is recorded by a real node load hook
// in the CLI process.
describe('CLI start-up loads only what the command needs', () => {
  let work: string;
  let hook: string;
  let keys: string;

  beforeAll(async () => {
    work = await tempDir('airgap-startup-');
    const hooks = join(work, 'hooks.mjs');
    await writeFile(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, ctx, next) { if (process.env.LOADED_LOG) appendFileSync(process.env.LOADED_LOG, url + '\\n'); return next(url, ctx); }\n`);
    hook = join(work, 'register.mjs');
    // ES modules through the load hook; CommonJS ones (ajv, yaml, oclif) from require's cache at exit.
    await writeFile(
      hook,
      `import { appendFileSync } from 'node:fs';\nimport { createRequire, register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n` +
        `const require = createRequire(import.meta.url);\nprocess.on('exit', () => { if (process.env.LOADED_LOG) appendFileSync(process.env.LOADED_LOG, Object.keys(require.cache).map((f) => 'file://' + f + '\\n').join('')); });\n`,
    );
    keys = join(work, 'keys');
    expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 't'], { cwd: work })).exitCode).toBe(0);
  });

  /** Run the CLI and return its exit, output and the @airgap packages it loaded. */
  async function traced(args: string[], tag: string) {
    const log = join(work, `loaded-${tag}.txt`);
    const r = await runAirgap(args, { cwd: work, env: { NODE_OPTIONS: `--import ${hook}`, LOADED_LOG: log } });
    const urls = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    const pkgs = new Set(urls.map((u) => /\/packages\/([a-z]+)\/dist\//.exec(u)?.[1]).filter((p): p is string => !!p));
    return { ...r, urls, pkgs: [...pkgs].sort() };
  }

  it('--version prints what oclif prints, without loading oclif', async () => {
    const fast = await traced(['--version'], 'version');
    expect(fast.exitCode).toBe(0);
    expect(fast.urls.some((u) => u.includes('@oclif'))).toBe(false);
    const oclif = await execa(process.execPath, ['--input-type=module', '-e', `import { execute } from '@oclif/core'; await execute({ dir: ${JSON.stringify(pathToFileURL(airgapBin).href)}, args: ['--version'] });`], { cwd: repoRoot, reject: false });
    expect(oclif.exitCode, oclif.stderr).toBe(0);
    expect(fast.stdout.trim()).toBe(String(oclif.stdout).trim());
    expect(fast.stdout).toMatch(/^airgap\/\d+\.\d+\.\d+ linux-\w+ node-v\d+/);
  });

  it('verify --help loads no ecosystem', async () => {
    const r = await traced(['verify', '--help'], 'help');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/--pub/);
    expect(r.pkgs.filter((p) => ECOSYSTEM_PACKAGES.includes(p) || p === 'nexus')).toEqual([]);
  });

  it('pack, verify and unpack of a bundle of files load the files ecosystem only', async () => {
    await writeFile(join(work, 'a.txt'), 'a\n');
    await writeFile(join(work, 'm.yaml'), `apiVersion: airgap/v1\nkind: Bundle\nname: lazy\nfiles:\n  - url: ${join(work, 'a.txt')}\n    path: x/\n`);
    const packed = await traced(['pack', 'm.yaml', '--out', 'out', '--key', join(keys, 't.key'), '--cache', 'cache', '--json'], 'pack');
    expect(packed.exitCode, packed.stderr).toBe(0);
    const ecosystemsOf = (pkgs: string[]) => pkgs.filter((p) => ECOSYSTEM_PACKAGES.includes(p));
    expect(ecosystemsOf(packed.pkgs)).toEqual(['files']);
    const bundle = JSON.parse(packed.stdout).bundle as string;
    const verified = await traced(['verify', bundle, '--pub', join(keys, 't.pub')], 'verify');
    expect(verified.exitCode, verified.stderr).toBe(0);
    // verify validates each artifact's index fields with its own ecosystem (docs/security.md), so it loads
    // the ecosystems the bundle holds, and no other.
    expect(ecosystemsOf(verified.pkgs)).toEqual(['files']);
    // Nor what only other paths need: the ledger and targets (unpack), execa (par2 repair, gpg),
    // listr2 (a terminal), ajv and yaml (a config file or manifest; there is none here).
    const heavy = (urls: string[]) => [...new Set(urls.map((u) => /\/node_modules\/(execa|listr2|ajv|yaml|tweetnacl)\//.exec(u)?.[1] ?? /\/packages\/(ledger)\/dist\//.exec(u)?.[1]).filter(Boolean))].sort();
    expect(verified.urls.some((u) => u.includes('/node_modules/@oclif/core/'))).toBe(true);
    expect(heavy(verified.urls)).toEqual([]);
    // The probe sees CommonJS loads: pack parses and validates its manifest with yaml and ajv.
    expect(heavy(packed.urls)).toEqual(expect.arrayContaining(['ajv', 'yaml']));
    // unpack loads the ecosystems of the bundle's artifacts, and the dir target needs no driver package.
    const unpacked = await traced(['unpack', bundle, '--to', `dir:${join(work, 'mirror')}`, '--pub', join(keys, 't.pub'), '--ledger', join(work, 'l.jsonl')], 'unpack');
    expect(unpacked.exitCode, unpacked.stderr).toBe(0);
    expect(ecosystemsOf(unpacked.pkgs)).toEqual(['files']);
    // Unpack loads the HTTP client while the parts are hashed only for a target spoken to over HTTP.
    expect(unpacked.urls.some((u) => u.includes('/node_modules/undici/'))).toBe(false);
  });

  it('a manifest section still loads its ecosystem and is checked by its schema', async () => {
    await writeFile(join(work, 'bad.yaml'), `apiVersion: airgap/v1\nkind: Bundle\nname: lazy\nimages:\n  - ref: example.org/x:1\n    nonsense: true\n`);
    const r = await runAirgap(['pack', 'bad.yaml', '--out', 'out2', '--key', join(keys, 't.key'), '--dry-run'], { cwd: work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/images\[0\].*nonsense/);
  });
});
