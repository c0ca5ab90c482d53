/**
 * Issue 9 "must show", through the real CLI (bin/run.js): a hermetic upstream (RPMs by rpmbuild, repodata
 * by createrepo_c, repomd.xml signed with a throwaway key) → pack → unpack to a dir mirror (createrepo_c,
 * repomd.xml.asc by the inside key) → the real dnf, isolated from the host, resolves and downloads every
 * package from the mirror alone; wrong gpgkey → exit 3; a changed RPM → pack fails naming it; the Nexus
 * double gets every RPM at the configured depth, byte-identical, and nothing on a second run.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, startStaticServer, tempDir, type StaticServer } from '../harness/index.js';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { CLOSURE, type GpgKey, MODULES_YAML, PACKAGES, buildRpms, createRepo, makeGpgKey, signRepomd, stopGpgAgents } from './fixtures.js';
import { gpgvCheck } from '../harness/gpgv.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let work: string;
let upstream: StaticServer;
let upstreamKey: GpgKey;
let insideKey: GpgKey;
let strangerKey: GpgKey;
let keys: string;
let bundle: string;
const servers: StaticServer[] = [];
let double: NexusDouble | undefined;

async function manifest(name: string, baseurl: string, gpgkey: string, extra: string[] = []): Promise<string> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, ['apiVersion: airgap/v1', 'kind: Bundle', `name: ${name}`, 'yum:', `  - baseurl: ${baseurl}`, '    name: demo',
    `    gpgkey: ${gpgkey}`, '    packages: [alpha, zeta]', ...extra, ''].join('\n'));
  return file;
}

async function pack(file: string, extra: string[] = []) {
  return runAirgap(['pack', file, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache'), ...extra], { cwd: work });
}

/**
 * The real dnf against the mirror alone, isolated from the host: its own config, reposdir, cache and an
 * empty --installroot. The fixture RPMs are unsigned (gpgcheck=0); the repository metadata is checked
 * (repo_gpgcheck=1) with the key the mirror publishes beside repomd.xml.asc. Runs each argument list in
 * turn and returns the last result.
 */
async function dnfMirror(dir: string, served: StaticServer, runs: string[][], signed = true) {
  const root = join(dir, 'root');
  const reposd = join(dir, 'repos.d');
  await mkdir(reposd, { recursive: true });
  await mkdir(root, { recursive: true });
  await writeFile(join(dir, 'dnf.conf'), ['[main]', 'gpgcheck=0', `reposdir=${reposd}`, 'install_weak_deps=False', ''].join('\n'));
  await writeFile(join(reposd, 'mirror.repo'), ['[mirror]', 'name=airgap mirror', `baseurl=${served.url}`, 'gpgcheck=0',
    ...(signed ? ['repo_gpgcheck=1', `gpgkey=${served.url}repodata/repomd.xml.key`] : ['repo_gpgcheck=0']), ''].join('\n'));
  let last;
  try {
    for (const args of runs) {
      last = await execa('dnf', ['--config', join(dir, 'dnf.conf'), '--installroot', root, `--setopt=reposdir=${reposd}`, `--setopt=cachedir=${join(dir, 'cache')}`,
        '--disablerepo=*', '--enablerepo=mirror', '--releasever=1', ...args], { reject: false, stdin: 'ignore', timeout: 60_000, env: { LC_ALL: 'C.UTF-8' } });
      if (last.exitCode !== 0) break;
    }
  } finally {
    // repo_gpgcheck makes librepo start a gpg-agent on the repository's pubring in the cache; stop it.
    const cache = join(dir, 'cache');
    for (const d of await readdir(cache).catch(() => [] as string[])) {
      await execa('gpgconf', ['--homedir', join(cache, d, 'pubring'), '--kill', 'all'], { reject: false });
    }
  }
  return last!;
}

async function bundlesIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((f) => !f.startsWith('.'));
}

beforeAll(async () => {
  work = await tempDir('airgap-yum-e2e-');
  const site = join(work, 'site', 'el');
  await buildRpms(work, PACKAGES, site);
  await createRepo(site, { compress: 'xz' });
  upstreamKey = await makeGpgKey(work, 'upstream');
  insideKey = await makeGpgKey(work, 'inside');
  strangerKey = await makeGpgKey(work, 'stranger');
  await signRepomd(site, upstreamKey);
  upstream = await startStaticServer(join(work, 'site'));
  keys = join(work, 'keys');
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  const p = await pack(await manifest('yum-e2e', `${upstream.url}el/`, upstreamKey.publicKey), ['--json']);
  expect(p.exitCode, p.stderr).toBe(0);
  bundle = JSON.parse(p.stdout).bundle;
});

afterAll(async () => {
  await upstream?.close();
  await stopGpgAgents();
  for (const s of servers) await s.close();
});
afterEach(async () => {
  await double?.close();
  double = undefined;
});

describe('yum end to end', () => {
  it('pack --dry-run prints the closure and downloads no RPM', async () => {
    const before = upstream.requests.length;
    const r = await pack(await manifest('yum-dry', `${upstream.url}el/`, upstreamKey.publicKey), ['--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('yum'));
    expect(lines.map((l) => l.split(/\s+/)[1]).sort()).toEqual(['alpha@1.0-1', 'beta@2.1-1', 'delta@1-1', 'gamma@2:1-1', 'zeta@0.9-1']);
    expect(r.stdout).toMatch(/yum\s+beta@2\.1-1 \[x86_64\]/);
    expect(upstream.requests.slice(before).filter((q) => q.path.endsWith('.rpm'))).toEqual([]);
  });

  it('pack → unpack dir: → the real dnf resolves and downloads every package from the mirror alone, repomd.xml signed by the inside key', async () => {
    const mirror = join(work, 'mirror');
    const config = join(work, 'mirror.yaml');
    await writeFile(config, [`trust: [${join(keys, 'outside.pub')}]`, 'targets:', '  mirror:', '    type: dir', `    path: ${mirror}`, '    yum:', `      gpgKey: ${insideKey.secretKey}`, ''].join('\n'));
    const ledger = join(work, 'ledger.jsonl');
    const u = await runAirgap(['unpack', bundle, '--to', 'mirror', '--config', config, '--ledger', ledger], { cwd: work });
    expect(u.exitCode, u.stderr).toBe(0);
    const repo = join(mirror, 'yum', 'demo');
    expect((await readdir(join(repo, 'Packages'))).sort()).toEqual(CLOSURE);
    // the mirror's repomd.xml verifies with the inside public key (gpgv, an isolated keyring)
    const ring = join(work, 'inside.gpg');
    await execa('gpg', ['--batch', '--homedir', insideKey.home, '--yes', '--output', ring, '--export', 'inside@test.invalid']);
    const v = await gpgvCheck(ring, join(repo, 'repodata', 'repomd.xml.asc'), join(repo, 'repodata', 'repomd.xml'));
    expect(v.exitCode, String(v.stderr)).toBe(0);
    const records = (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.kind === 'yum');
    expect(records.map((x) => x.action)).toEqual(Array(CLOSURE.length).fill('pushed'));

    const served = await startStaticServer(repo);
    servers.push(served);
    const dest = join(work, 'dnf-main', 'downloads');
    const dnf = await dnfMirror(join(work, 'dnf-main'), served, [['-y', 'install', '--downloadonly', '--destdir', dest, 'alpha', 'zeta']]);
    expect(dnf.exitCode, `${dnf.stdout}\n${dnf.stderr}`).toBe(0);
    expect((await readdir(dest)).filter((f) => f.endsWith('.rpm')).sort()).toEqual(CLOSURE);
    for (const f of CLOSURE) expect(sha256(await readFile(join(dest, f))), f).toBe(sha256(await readFile(join(work, 'site', 'el', f))));
    expect(served.requests.map((q) => q.path)).toContain('/repodata/repomd.xml.asc');
    expect(upstream.requests.filter((q) => q.headers['user-agent']?.includes('libdnf'))).toEqual([]);

    // a second unpack: everything present, repodata made again and still signed
    const again = await runAirgap(['unpack', bundle, '--to', 'mirror', '--config', config, '--ledger', ledger], { cwd: work });
    expect(again.exitCode, again.stderr).toBe(0);
    const second = (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.kind === 'yum').slice(CLOSURE.length);
    expect(second.map((x) => x.action)).toEqual(Array(CLOSURE.length).fill('present'));
    const v2 = await gpgvCheck(ring, join(repo, 'repodata', 'repomd.xml.asc'), join(repo, 'repodata', 'repomd.xml'));
    expect(v2.exitCode).toBe(0);

    // a later bundle into the same mirror: the repodata covers the earlier imports too
    const later = join(work, 'yum-later.yaml');
    await writeFile(later, ['apiVersion: airgap/v1', 'kind: Bundle', 'name: yum-later', 'yum:', `  - baseurl: ${upstream.url}el/`, '    name: demo', '    packages: [omega]', ''].join('\n'));
    const p2 = await pack(later, ['--json']);
    expect(p2.exitCode, p2.stderr).toBe(0);
    const u3 = await runAirgap(['unpack', JSON.parse(p2.stdout).bundle, '--to', 'mirror', '--config', config, '--ledger', ledger], { cwd: work });
    expect(u3.exitCode, u3.stderr).toBe(0);
    const listed = await dnfMirror(join(work, 'dnf-later'), served, [['-y', 'list', '--available']]);
    expect(listed.exitCode, String(listed.stderr)).toBe(0);
    const available = String(listed.stdout).split('\n').map((l) => l.split(/\s+/)[0]).filter((n) => /\.(noarch|x86_64)$/.test(n)).sort();
    expect(available).toEqual(['alpha.noarch', 'beta.x86_64', 'delta.noarch', 'gamma.noarch', 'omega.noarch', 'zeta.noarch']);
  });

  it('modular upstream: modules metadata carried into the dir mirror (modifyrepo_c); the real dnf honours it there', async () => {
    const site = join(work, 'site', 'modular');
    await cp(join(work, 'site', 'el'), site, { recursive: true, filter: (src) => !src.includes('repodata') });
    await createRepo(site, { compress: 'gz', modulesYaml: MODULES_YAML });
    const file = join(work, 'yum-modular.yaml');
    await writeFile(file, ['apiVersion: airgap/v1', 'kind: Bundle', 'name: yum-modular', 'yum:', `  - baseurl: ${upstream.url}modular/`, '    name: modular',
      '    packages: [delta]', '    modules: ["betamod:legacy"]', ''].join('\n'));
    const p = await pack(file, ['--json']);
    expect(p.exitCode, p.stderr).toBe(0);
    const mirror = join(work, 'mirror-modular');
    const u = await runAirgap(['unpack', JSON.parse(p.stdout).bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', join(work, 'ledger-modular.jsonl')], { cwd: work });
    expect(u.exitCode, u.stderr).toBe(0);
    const repo = join(mirror, 'yum', 'modular');
    // the enabled stream's beta 1.5, not the non-modular beta 2.1 it shadows
    expect((await readdir(join(repo, 'Packages'))).sort()).toEqual(['beta-1.5-1.x86_64.rpm', 'delta-1-1.noarch.rpm']);
    expect(await readFile(join(repo, 'repodata', 'repomd.xml'), 'utf8')).toMatch(/<data type="modules">/);
    // no gpgKey configured for this target: no signature is left in the mirror
    await expect(stat(join(repo, 'repodata', 'repomd.xml.asc'))).rejects.toThrow();
    const served = await startStaticServer(repo);
    servers.push(served);
    // dnf sees the module, hides its RPMs until the stream is enabled, then takes them
    const hidden = await dnfMirror(join(work, 'dnf-mod-hidden'), served, [['-y', 'install', '--downloadonly', '--destdir', join(work, 'dnf-mod-hidden', 'dl'), 'delta']], false);
    expect(hidden.exitCode).not.toBe(0);
    expect(`${hidden.stdout}\n${hidden.stderr}`).toMatch(/package beta-1\.5-1\.x86_64 is filtered out by modular filtering/);
    const dest = join(work, 'dnf-mod', 'dl');
    const dnf = await dnfMirror(join(work, 'dnf-mod'), served, [['-y', 'module', 'enable', 'betamod:legacy'], ['-y', 'install', '--downloadonly', '--destdir', dest, 'delta']], false);
    expect(dnf.exitCode, `${dnf.stdout}\n${dnf.stderr}`).toBe(0);
    expect((await readdir(dest)).filter((f) => f.endsWith('.rpm')).sort()).toEqual(['beta-1.5-1.x86_64.rpm', 'delta-1-1.noarch.rpm']);

    // Nexus yum-hosted cannot take modules metadata: that artifact fails by name (exit 4), the RPMs are published
    double = await startNexusDouble();
    const n = await unpackNexus(double, '{ depth: 1 }', JSON.parse(p.stdout).bundle);
    expect(n.exitCode).toBe(4);
    expect(n.stderr).toMatch(/modular\/modules: a Nexus yum-hosted repository generates its own repodata and has no upload for modules metadata/);
    expect(n.records.map((x) => `${x.name} ${x.action}`).sort()).toEqual(['beta pushed', 'delta pushed', 'modular/modules failed']);
    expect(double.writes().map((w) => w.path).sort()).toEqual(['/repository/yum-hosted/modular/Packages/beta-1.5-1.x86_64.rpm', '/repository/yum-hosted/modular/Packages/delta-1-1.noarch.rpm']);
  });

  it('a manifest entry with an unknown key or no packages: exit 2 naming it, nothing fetched', async () => {
    const before = upstream.requests.length;
    const file = join(work, 'yum-bad.yaml');
    await writeFile(file, ['apiVersion: airgap/v1', 'kind: Bundle', 'name: yum-bad', 'yum:', `  - baseurl: ${upstream.url}el/`, '    pakages: [alpha]', ''].join('\n'));
    const r = await pack(file);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/pakages/);
    expect(r.stderr).toMatch(/packages/);
    expect(upstream.requests.length).toBe(before);
  });

  it('dir mirror: an RPM already there with other bytes is a failure naming it (exit 4), never overwritten; the others are published', async () => {
    const mirror = join(work, 'mirror-conflict');
    const squatter = join(mirror, 'yum', 'demo', 'Packages', 'delta-1-1.noarch.rpm');
    await mkdir(join(squatter, '..'), { recursive: true });
    await writeFile(squatter, 'not the package');
    const r = await runAirgap(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', join(work, 'ledger-conflict.jsonl')], { cwd: work });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain(`${squatter} already exists with different content`);
    expect(await readFile(squatter, 'utf8')).toBe('not the package');
    expect((await readdir(join(mirror, 'yum', 'demo', 'Packages'))).sort()).toEqual(CLOSURE);
  });

  it('dir mirror whose signing key cannot be used: the index step fails by name (exit 4) and no unsigned repodata is put in place', async () => {
    const mirror = join(work, 'mirror-nopass');
    const config = join(work, 'mirror-nopass.yaml');
    await writeFile(config, [`trust: [${join(keys, 'outside.pub')}]`, 'targets:', '  signed:', '    type: dir', `    path: ${mirror}`, '    yum:',
      `      gpgKey: ${insideKey.secretKey}`, '      passphraseEnv: YUM_TEST_UNSET_PASSPHRASE', ''].join('\n'));
    const r = await runAirgap(['unpack', bundle, '--to', 'signed', '--config', config, '--ledger', join(work, 'ledger-nopass.jsonl')], { cwd: work });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/yum index at signed/);
    expect(r.stderr).toMatch(/YUM_TEST_UNSET_PASSPHRASE is not set/);
    expect((await readdir(join(mirror, 'yum', 'demo', 'Packages'))).sort()).toEqual(CLOSURE);
    expect((await readdir(join(mirror, 'yum', 'demo'))).sort()).toEqual(['Packages']);
  });

  it('a wrong gpgkey: pack exits 3 naming repomd.xml, and writes no bundle', async () => {
    const out = join(work, 'out-wrongkey');
    const r = await runAirgap(['pack', await manifest('yum-wrongkey', `${upstream.url}el/`, strangerKey.publicKey), '--out', out, '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/repodata\/repomd\.xml.*signature does not verify/);
    expect(await bundlesIn(out)).toEqual([]);
  });

  it('an RPM changed on the upstream after createrepo: pack fails naming it, and writes no bundle', async () => {
    const site = join(work, 'site', 'tampered');
    await cp(join(work, 'site', 'el'), site, { recursive: true });
    const rpm = join(site, 'delta-1-1.noarch.rpm');
    const bytes = await readFile(rpm);
    bytes[bytes.length - 64] ^= 0x20;
    await writeFile(rpm, bytes);
    const out = join(work, 'out-tampered');
    const r = await runAirgap(['pack', await manifest('yum-tampered', `${upstream.url}tampered/`, upstreamKey.publicKey), '--out', out, '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache-tampered')], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/delta-1-1\.noarch\.rpm.*digest mismatch/);
    expect(await bundlesIn(out)).toEqual([]);
  });

  async function unpackNexus(d: NexusDouble, yumSettings: string, which = bundle) {
    const config = join(work, `nexus-${Date.now()}.yaml`);
    await writeFile(config, [`trust: [${join(keys, 'outside.pub')}]`, 'http: { retries: 1 }', 'targets:', '  nexus:', '    type: nexus', `    url: ${d.url}`,
      '    usernameEnv: NEXUS_USER', '    passwordEnv: NEXUS_PASSWORD', '    repositories: { yum: yum-hosted }', `    yum: ${yumSettings}`, ''].join('\n'));
    const ledger = join(work, `nexus-ledger-${Date.now()}.jsonl`);
    const r = await runAirgap(['unpack', which, '--to', 'nexus', '--config', config, '--ledger', ledger], {
      cwd: work, env: { NEXUS_USER: DEFAULT_USER.username, NEXUS_PASSWORD: DEFAULT_USER.password, HTTP_PROXY: undefined, http_proxy: undefined },
    });
    const records = (await readFile(ledger, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((x) => x.kind === 'yum');
    return { ...r, records };
  }

  it('Nexus yum-hosted: every RPM PUT at the configured depth, byte-identical; a re-run sends nothing', async () => {
    double = await startNexusDouble({ repositories: [{ name: 'yum-hosted', format: 'yum', writePolicy: 'ALLOW_ONCE', attributes: { yum: { repodataDepth: 2 } } }] });
    const first = await unpackNexus(double, '{ depth: 2, path: "el9/{repo}" }');
    expect(first.exitCode, first.stderr).toBe(0);
    expect(double.writes().map((w) => `${w.method} ${w.path} ${w.status}`).sort()).toEqual(CLOSURE.map((f) => `PUT /repository/yum-hosted/el9/demo/Packages/${f} 200`));
    for (const f of CLOSURE) {
      const stored = await double.storage.read('yum-hosted', `el9/demo/Packages/${f}`);
      expect(stored && sha256(stored), f).toBe(sha256(await readFile(join(work, 'site', 'el', f))));
    }
    expect(first.records.map((x) => x.action)).toEqual(Array(CLOSURE.length).fill('pushed'));
    const writes = double.writes().length;
    const second = await unpackNexus(double, '{ depth: 2, path: "el9/{repo}" }');
    expect(second.exitCode, second.stderr).toBe(0);
    expect(double.writes()).toHaveLength(writes);
    expect(second.records.map((x) => x.action)).toEqual(Array(CLOSURE.length).fill('present'));
  });

  it('Nexus: RPMs shallower than the repository\'s depth are refused by Nexus (exit 4); a depth or path that does not match is named before any PUT', async () => {
    const repositories = [{ name: 'yum-hosted', format: 'yum', writePolicy: 'ALLOW_ONCE' as const, attributes: { yum: { repodataDepth: 2, deployPolicy: 'STRICT' } } }];
    // a user who may not read repository settings: Nexus itself refuses the shallow PUTs
    double = await startNexusDouble({ repositories });
    const shallow = await unpackNexus(double, '{ depth: 0 }');
    expect(shallow.exitCode).toBe(4);
    expect(shallow.stderr).toMatch(/yum-hosted\/Packages\/alpha-1\.0-1\.noarch\.rpm.*HTTP 400/);
    expect(shallow.records.map((x) => x.action)).toEqual(Array(CLOSURE.length).fill('failed'));
    expect(double.storage.list('yum-hosted')).toEqual([]);
    await double.close();
    // a user who may: the configured depth is checked against Nexus's, nothing is sent
    double = await startNexusDouble({ repositories, users: [{ ...DEFAULT_USER, admin: true }] });
    const wrongDepth = await unpackNexus(double, '{ depth: 1 }');
    expect(wrongDepth.exitCode).toBe(4);
    expect(wrongDepth.stderr).toMatch(/yum-hosted has Repodata Depth 2, but targets\.nexus\.yum\.depth is 1/);
    const mismatch = await unpackNexus(double, '{ depth: 2, path: "{repo}" }');
    expect(mismatch.exitCode).toBe(4);
    expect(mismatch.stderr).toMatch(/yum\.path "\{repo\}" gives 1 folder levels, but depth is 2/);
    expect(double.writes()).toEqual([]);
  });
});
