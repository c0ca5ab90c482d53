import { withTransfer } from '../harness/index.js';
/**
 * The yum source half at library level against hermetic upstreams (fixtures.ts) on loopback: closure,
 * compressions of primary.xml, filelists only when needed, repomd.xml signatures, checksums.
 */
import { createHash } from 'node:crypto';
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore, HttpClient, IntegrityError, type SourceContext, TrustError, UpstreamError } from '@airgap/core';
import { type YumSpec, repoName, resolveYum, yumSource } from '@airgap/yum';
import { execa } from 'execa';
import { type StaticServer, startStaticServer, tempDir } from '../harness/index.js';
import { CLOSURE, type Compression, type GpgKey, MODULES_YAML, PACKAGES, buildRpms, createRepo, makeGpgKey, repointEntry, signRepomd, stopGpgAgents } from './fixtures.js';

let work: string;
let rpms: string;
let server: StaticServer;
let key: GpgKey;
let otherKey: GpgKey;
const COMPRESSIONS: Compression[] = ['gz', 'xz', 'zstd', 'bz2'];
const warnings: string[] = [];
const http = new HttpClient({ retries: 0 });

function ctx(name: string): SourceContext {
  return withTransfer({
    store: new ContentStore(join(work, `cache-${name}`)),
    http,
    config: {},
    log: { info() {}, debug() {}, warn: (m) => void warnings.push(m) },
    progress: () => {},
    manifestDir: work,
    concurrency: 2,
    dryRun: false,
  });
}
const spec = (repo: string, extra: Partial<YumSpec> = {}): YumSpec => ({ baseurl: `${server.url}${repo}/`, packages: ['alpha', 'zeta'], ...extra });
const fileNames = (r: Awaited<ReturnType<typeof resolveYum>>) => r.artifacts.filter((a) => (a.meta as any).role === 'rpm').map((a) => (a.meta as any).file).sort();

beforeAll(async () => {
  work = await tempDir('airgap-yum-source-');
  rpms = join(work, 'rpms');
  await buildRpms(work, PACKAGES, rpms);
  for (const c of COMPRESSIONS) {
    await cp(rpms, join(work, 'site', c), { recursive: true });
    await createRepo(join(work, 'site', c), { compress: c });
  }
  key = await makeGpgKey(work, 'upstream');
  otherKey = await makeGpgKey(work, 'stranger');
  await signRepomd(join(work, 'site', 'gz'), key);
  server = await startStaticServer(join(work, 'site'));
});
afterAll(async () => {
  await server?.close();
  await stopGpgAgents();
});

describe('yum source: closure', () => {
  it.each(COMPRESSIONS)('primary.xml compressed with %s: the same closure, checksums and open-checksums verified', async (c) => {
    const files = await readdir(join(work, 'site', c, 'repodata'));
    // the fixture really is in that compression (createrepo_c names files by it)
    expect(files.some((f) => f.endsWith(`primary.xml.${c === 'zstd' ? 'zst' : c}`))).toBe(true);
    const r = await resolveYum(spec(c), ctx(c));
    expect(fileNames(r)).toEqual(CLOSURE);
    // newest per name/arch: beta 2.1 (not 1.5), x86_64 (not i686); the epoch is kept in the version
    const beta = r.artifacts.find((a) => a.name === 'beta')!;
    expect([beta.version, beta.platform]).toEqual(['2.1-1', 'x86_64']);
    expect(r.artifacts.find((a) => a.name === 'gamma')!.version).toBe('2:1-1');
    const want = createHash('sha256').update(await readFile(join(rpms, 'alpha-1.0-1.noarch.rpm'))).digest('hex');
    expect(r.artifacts.find((a) => a.name === 'alpha')!.digest).toBe(`sha256:${want}`);
  });

  it('reads filelists.xml only when primary cannot answer a file requirement', async () => {
    const before = server.requests.length;
    const z = await resolveYum(spec('gz', { packages: ['zeta'] }), ctx('fl1'));
    // zeta → virtual-thing >= 2 (delta) → /usr/bin/beta: in primary (a *bin/* path)
    expect(fileNames(z)).toEqual(['beta-2.1-1.x86_64.rpm', 'delta-1-1.noarch.rpm', 'zeta-0.9-1.noarch.rpm']);
    expect(server.requests.slice(before).map((q) => q.path).filter((p) => p.includes('filelists'))).toEqual([]);
    const a = await resolveYum(spec('gz', { packages: ['alpha'] }), ctx('fl2'));
    expect(fileNames(a)).toContain('gamma-1-1.noarch.rpm');
    expect(server.requests.slice(before).map((q) => q.path).filter((p) => p.includes('filelists'))).toHaveLength(1);
  });

  it('honours arch, exclude, a versioned root and dependencies: false', async () => {
    const i686 = await resolveYum(spec('gz', { packages: ['beta'], arch: ['i686', 'x86_64'] }), ctx('arch'));
    expect(fileNames(i686)).toEqual(['beta-2.1-1.i686.rpm', 'beta-2.1-1.x86_64.rpm']);
    const old = await resolveYum(spec('gz', { packages: ['beta < 2'] }), ctx('old'));
    expect(fileNames(old)).toEqual(['beta-1.5-1.x86_64.rpm']);
    warnings.length = 0;
    const ex = await resolveYum(spec('gz', { packages: ['alpha'], exclude: ['del*'] }), ctx('ex'));
    // (delta or epsilon) falls to epsilon when delta is excluded
    expect(fileNames(ex)).toEqual(['alpha-1.0-1.noarch.rpm', 'beta-2.1-1.x86_64.rpm', 'epsilon-1-1.noarch.rpm', 'gamma-1-1.noarch.rpm']);
    const nodeps = await resolveYum(spec('gz', { packages: ['alpha'], dependencies: false }), ctx('nodeps'));
    expect(fileNames(nodeps)).toEqual(['alpha-1.0-1.noarch.rpm']);
    await expect(resolveYum(spec('gz', { packages: ['nosuch'] }), ctx('none'))).rejects.toThrow(/no package nosuch/);
    // A name the repository does not have: exit 2 (docs/exit-codes.md).
    await expect(resolveYum(spec('gz', { packages: ['nosuch'] }), ctx('none'))).rejects.toMatchObject({ exitCode: 2 });
  });

  it('an unresolvable requirement is a warning naming it and its package, not a failure', async () => {
    warnings.length = 0;
    const r = await resolveYum(spec('gz', { packages: ['alpha'], exclude: ['gamma'] }), ctx('warn'));
    expect(fileNames(r)).not.toContain('gamma-1-1.noarch.rpm');
    expect(warnings.join('\n')).toMatch(/nothing here provides \/usr\/share\/gamma\/data.txt \(needed by alpha-1.0-1.noarch\)/);
  });
});

describe('yum source: trust and integrity', () => {
  it('repomd.xml verified with the right gpgkey; the wrong key is a TrustError naming repomd.xml', async () => {
    const ok = await resolveYum(spec('gz', { gpgkey: key.publicKey }), ctx('gpg-ok'));
    expect(ok.artifacts[0].upstream.verified).toMatch(/^repomd.xml.asc \(gpgv with upstream.pub.asc\) → primary sha256 → rpm sha256$/);
    const bad = resolveYum(spec('gz', { gpgkey: otherKey.publicKey }), ctx('gpg-bad'));
    await expect(bad).rejects.toBeInstanceOf(TrustError);
    await expect(bad).rejects.toThrow(/repomd\.xml signature does not verify/);
  });

  it('a gpgkey but no repomd.xml.asc is a TrustError', async () => {
    const r = resolveYum(spec('xz', { gpgkey: key.publicKey }), ctx('gpg-missing'));
    await expect(r).rejects.toBeInstanceOf(TrustError);
    await expect(r).rejects.toThrow(/repomd\.xml has no signature/);
  });

  it('changed primary.xml bytes: IntegrityError naming primary', async () => {
    const site = join(work, 'site', 'tampered');
    await cp(join(work, 'site', 'gz'), site, { recursive: true });
    const primary = (await readdir(join(site, 'repodata'))).find((f) => f.endsWith('primary.xml.gz'))!;
    const bytes = await readFile(join(site, 'repodata', primary));
    bytes[bytes.length - 5] ^= 0xff;
    await writeFile(join(site, 'repodata', primary), bytes);
    const r = resolveYum(spec('tampered'), ctx('tampered'));
    await expect(r).rejects.toBeInstanceOf(IntegrityError);
    await expect(r).rejects.toThrow(new RegExp(`${primary}.*digest mismatch`));
  });

  it('primary.xml whose decompressed bytes differ from open-checksum: IntegrityError naming it', async () => {
    const site = join(work, 'site', 'open-sum');
    await cp(join(work, 'site', 'gz'), site, { recursive: true });
    const repodata = join(site, 'repodata');
    const primary = (await readdir(repodata)).find((f) => f.endsWith('primary.xml.gz'))!;
    const xml = (await execa('gzip', ['-dc', join(repodata, primary)])).stdout.replace('<summary>alpha test package</summary>', '<summary>alpha, edited</summary>');
    expect(xml).toContain('alpha, edited');
    const plain = join(work, 'primary.xml');
    await writeFile(plain, xml);
    await execa('gzip', ['-n', '-f', plain]);
    await repointEntry(repodata, 'primary', `${plain}.gz`);
    const r = resolveYum(spec('open-sum'), ctx('open-sum'));
    await expect(r).rejects.toBeInstanceOf(IntegrityError);
    await expect(r).rejects.toThrow(/primary\.xml\.gz: open-checksum mismatch/);
  });

  it('a repomd.xml that is not XML: UpstreamError naming it', async () => {
    const site = join(work, 'site', 'garbage', 'repodata');
    await cp(join(work, 'site', 'gz', 'repodata'), site, { recursive: true });
    await writeFile(join(site, 'repomd.xml'), '<html><body>Mirror maintenance<br></body>');
    const r = resolveYum(spec('garbage'), ctx('garbage'));
    await expect(r).rejects.toBeInstanceOf(UpstreamError);
    await expect(r).rejects.toThrow(/garbage\/repodata\/repomd\.xml: not well-formed XML/);
  });

  it('fetch streams each RPM into the store checked against primary; a changed RPM fails naming it', async () => {
    const c = ctx('fetch');
    const r = await resolveYum(spec('gz'), c);
    for (const a of r.artifacts) await yumSource.fetch(a, c);
    for (const a of r.artifacts) {
      const file = (a.meta as any).file as string;
      expect((await readFile(c.store.path(a.digest))).equals(await readFile(join(rpms, file))), file).toBe(true);
    }
    const site = join(work, 'site', 'badrpm');
    await cp(join(work, 'site', 'gz'), site, { recursive: true });
    const rpm = join(site, 'beta-2.1-1.x86_64.rpm');
    const bytes = await readFile(rpm);
    bytes[bytes.length - 100] ^= 0x01;
    await writeFile(rpm, bytes);
    const c2 = ctx('fetch-bad');
    const r2 = await resolveYum(spec('badrpm'), c2);
    const beta = r2.artifacts.find((a) => a.name === 'beta')!;
    const f = yumSource.fetch(beta, c2);
    await expect(f).rejects.toBeInstanceOf(IntegrityError);
    await expect(f).rejects.toThrow(/beta-2\.1-1\.x86_64\.rpm .*digest mismatch/);
    expect(await c2.store.has(beta.digest)).toBe(false);
  });

  it('a baseurl without repodata: exit-1 UpstreamError naming repomd.xml', async () => {
    const r = resolveYum(spec('nothing-here'), ctx('404'));
    await expect(r).rejects.toBeInstanceOf(UpstreamError);
    await expect(r).rejects.toThrow(/repodata\/repomd\.xml: HTTP 404/);
  });
});

describe('yum source: modularity', () => {
  let modular: string;
  beforeAll(async () => {
    modular = join(work, 'site', 'modular');
    await cp(rpms, modular, { recursive: true });
    await createRepo(modular, { compress: 'xz', modulesYaml: MODULES_YAML });
  });

  it('a stream that is not enabled hides its RPMs; a default stream is active; the modules metadata is carried', async () => {
    const r = await resolveYum(spec('modular', { packages: ['delta', 'zeta'] }), ctx('mod-default'));
    expect(r.activeModules).toEqual(['zetamod:stable']);
    expect(fileNames(r)).toEqual(['beta-2.1-1.x86_64.rpm', 'delta-1-1.noarch.rpm', 'zeta-0.9-1.noarch.rpm']);
    await expect(resolveYum(spec('modular', { packages: ['beta < 2'] }), ctx('mod-hidden'))).rejects.toThrow(/no package beta < 2/);
    const mod = r.artifacts.find((a) => (a.meta as any).role === 'modules')!;
    expect(mod.name).toBe('modular/modules');
    expect((mod.meta as any).file).toMatch(/modules\.yaml\.xz$/);
  });

  it('modules: [betamod:legacy] makes beta 1.5 the only beta: the non-modular beta 2.1 is shadowed', async () => {
    const r = await resolveYum(spec('modular', { packages: ['delta'], modules: ['betamod:legacy'] }), ctx('mod-enabled'));
    expect(r.activeModules).toEqual(['betamod:legacy', 'zetamod:stable']);
    expect(fileNames(r)).toEqual(['beta-1.5-1.x86_64.rpm', 'delta-1-1.noarch.rpm']);
  });

  it('a stream the metadata does not have is an error naming it and listing the streams', async () => {
    await expect(resolveYum(spec('modular', { modules: ['betamod:9'] }), ctx('mod-unknown'))).rejects.toThrow(/module stream betamod:9 is not in the repository's modules metadata/);
    await expect(resolveYum(spec('gz', { modules: ['betamod:legacy'] }), ctx('mod-none'))).rejects.toThrow(/has no modules metadata/);
  });
});

describe('repoName', () => {
  it('is the name: key, else the baseurl path as a safe slug, else the host', () => {
    expect(repoName({ baseurl: 'https://m.example.com/rocky/9/BaseOS/x86_64/os/', name: 'baseos' })).toBe('baseos');
    expect(repoName({ baseurl: 'https://m.example.com/rocky/9/BaseOS/x86_64/os/' })).toBe('rocky-9-baseos-x86_64-os');
    expect(repoName({ baseurl: 'https://m.example.com/' })).toBe('m.example.com');
    expect(repoName({ baseurl: 'https://m.example.com/a..b/%20c/' })).toBe('a.b-c');
  });
});

describe('yum source: repository credentials', () => {
  const USER = 'mirror-user';
  const PASS = 's3cret-Repo-pass';
  beforeAll(async () => {
    await cp(join(work, 'site', 'gz'), join(work, 'site', 'auth'), { recursive: true });
    const good = 'Basic ' + Buffer.from(`${USER}:${PASS}`).toString('base64');
    server.overrides.push((req, res) => {
      if (!req.url?.startsWith('/auth/') || req.headers.authorization === good) return false;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="mirror"' }).end();
      return true;
    });
  });

  it('sends Basic auth from usernameEnv/passwordEnv to the repository host, for metadata and RPMs', async () => {
    process.env.YUM_TEST_USER = USER;
    process.env.YUM_TEST_PASS = PASS;
    try {
      const c = ctx('auth-ok');
      const r = await resolveYum(spec('auth', { usernameEnv: 'YUM_TEST_USER', passwordEnv: 'YUM_TEST_PASS' }), c);
      expect(fileNames(r)).toEqual(CLOSURE);
      for (const a of r.artifacts) await yumSource.fetch(a, c);
      expect(await c.store.has(r.artifacts[0].digest)).toBe(true);
      // only the variable names travel in the bundle index
      expect(JSON.stringify(r.artifacts)).not.toContain(PASS);
      expect(r.artifacts[0].meta).toMatchObject({ auth: { usernameEnv: 'YUM_TEST_USER', passwordEnv: 'YUM_TEST_PASS' } });
    } finally {
      delete process.env.YUM_TEST_USER;
      delete process.env.YUM_TEST_PASS;
    }
  });

  it('without credentials: HTTP 401 naming the URL and saying what to set; an unset variable is named', async () => {
    const r = resolveYum(spec('auth'), ctx('auth-none'));
    await expect(r).rejects.toBeInstanceOf(UpstreamError);
    await expect(r).rejects.toThrow(/auth\/repodata\/repomd\.xml: HTTP 401/);
    await expect(r).rejects.toMatchObject({ hint: expect.stringMatching(/usernameEnv and passwordEnv/) });
    await expect(resolveYum(spec('auth', { usernameEnv: 'YUM_TEST_NOPE_USER', passwordEnv: 'YUM_TEST_NOPE_PASS' }), ctx('auth-unset'))).rejects.toThrow(/YUM_TEST_NOPE_USER and YUM_TEST_NOPE_PASS is not set/);
  });
});
