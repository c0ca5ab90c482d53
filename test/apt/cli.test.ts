/**
 * Issue 7 through the real CLI (bin/run.js): pack from a signed upstream made by dpkg-deb and
 * apt-ftparchive → verify → unpack into a dir: mirror signed by the inside key → the real apt-get
 * installs (download-only) from it. Failure paths: wrong keyring (exit 3 naming the Release file), a
 * .deb whose bytes differ from Packages (pack fails naming it, no bundle left).
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, startStaticServer, type StaticServer } from '../harness/index.js';
import { type AptWorld, type GpgKey, type Upstream, buildDeb, startAptWorld } from './upstream.js';
import { aptGet } from './apt-get.js';
import { DEFAULT_USER, startNexusDouble } from '../nexus-double/index.js';

let work: string;
let upstream: Upstream;
let server: StaticServer;
let upstreamKey: GpgKey;
let otherKey: GpgKey;
let insideKey: GpgKey;
let arch: string;
let keys: string;

let world: AptWorld;

beforeAll(async () => {
  world = await startAptWorld('airgap-apt-cli-', ['upstream', 'other', 'inside']);
  ({ dir: work, arch, upstream, server } = world);
  ({ upstream: upstreamKey, other: otherKey, inside: insideKey } = world.keys as Record<'upstream' | 'other' | 'inside', GpgKey>);
  keys = join(work, 'keys');
  await mkdir(keys, { recursive: true });
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
});

afterAll(async () => {
  await world?.close();
});

async function manifest(name: string, opts: { url?: string; keyring?: string } = {}): Promise<string> {
  const p = join(work, `${name}.yaml`);
  await writeFile(p, `apiVersion: airgap/v1
kind: Bundle
name: ${name}
apt:
  - url: ${opts.url ?? server.url}
    suite: stable
    components: [main]
    architectures: [${arch}]
    keyring: ${opts.keyring ?? upstreamKey.keyring}
    packages: [webapp]
`);
  return p;
}

const pack = (m: string, out: string, extra: string[] = []) =>
  runAirgap(['pack', m, '--out', out, '--key', join(keys, 'outside.key'), '--cache', join(work, `cache-${out.split('/').pop()}`), ...extra], { cwd: work });

const sha256 = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');

describe('airgap pack/unpack with apt', () => {
  it('--dry-run prints the closure without downloading a .deb', async () => {
    const before = server.requests.length;
    const r = await pack(await manifest('apt-dry'), join(work, 'out-dry'), ['--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const p of ['base-init@1', 'httpd-alt@1', 'libc-fake@2.36', 'libweb@2.1-1', 'srv-a@1', 'srv-b@1', 'webapp@1.0-1']) expect(r.stdout).toContain(`apt    ${p} [${arch}]`);
    expect(r.stdout).toContain('apt    webapp-data@1.0-1 [all]');
    expect(r.stdout).toMatch(/^8 artifacts/m);
    expect(server.requests.slice(before).some((q) => q.path.endsWith('.deb'))).toBe(false);
  });

  it('pack → verify → unpack dir: signed by the inside key → apt-get installs from the mirror', async () => {
    const packed = await runAirgapJson<{ bundle: string; artifacts: number }>(
      ['pack', await manifest('apt-e2e'), '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache-e2e')], { cwd: work });
    expect(packed.exitCode, packed.stderr).toBe(0);
    expect(packed.json.artifacts).toBe(8);
    const v = await runAirgap(['verify', packed.json.bundle, '--pub', join(keys, 'outside.pub')]);
    expect(v.exitCode, v.stderr).toBe(0);

    const mirror = join(work, 'mirror');
    const config = join(work, 'airgap.yaml');
    await writeFile(config, `trust: [${join(keys, 'outside.pub')}]\ntargets:\n  mirror:\n    type: dir\n    path: ${mirror}\n    apt:\n      gpgKey: ${insideKey.secretKey}\n`);
    const u = await runAirgap(['unpack', packed.json.bundle, '--to', 'mirror', '--config', config, '--ledger', join(work, 'ledger.jsonl')], { cwd: work });
    expect(u.exitCode, u.stderr + u.stdout).toBe(0);
    const ledger = (await readFile(join(work, 'ledger.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(ledger.filter((r) => r.kind === 'apt' && r.action === 'pushed')).toHaveLength(8);

    const served = await startStaticServer(mirror);
    try {
      const client = join(work, 'client');
      await mkdir(client, { recursive: true });
      const list = join(client, 'sources.list');
      await writeFile(list, `deb [signed-by=${join(mirror, 'apt/airgap-archive-keyring.gpg')}] ${served.url}apt stable main\n`);
      const update = await aptGet(client, list, arch, ['update']);
      expect(update.exitCode, update.stderr).toBe(0);
      expect(update.stderr).not.toMatch(/^(W|E):/m);
      const install = await aptGet(client, list, arch, ['install', '--download-only', 'webapp']);
      expect(install.exitCode, install.stderr).toBe(0);
      const fetched = (await readdir(join(client, 'cache/archives'))).filter((f) => f.endsWith('.deb'));
      expect(fetched).toContain(`webapp_1.0-1_${arch}.deb`);
      for (const f of fetched) expect(await sha256(join(client, 'cache/archives', f))).toBe(await sha256(upstream.debs[f.replace(/\.deb$/, '')]));
    } finally {
      await served.close();
    }

    // A second unpack finds everything present and sends nothing new.
    const again = await runAirgap(['unpack', packed.json.bundle, '--to', 'mirror', '--config', config, '--ledger', join(work, 'ledger.jsonl')], { cwd: work });
    expect(again.exitCode, again.stderr).toBe(0);
    const ledger2 = (await readFile(join(work, 'ledger.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(ledger2.filter((r) => r.kind === 'apt' && r.action === 'present')).toHaveLength(8);
  });

  it('unpack --to a nexus target POSTs every .deb once, byte-identical; a re-run sends nothing', async () => {
    const packed = await runAirgapJson<{ bundle: string }>(
      ['pack', await manifest('apt-nexus'), '--out', join(work, 'out-nexus'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache-e2e')], { cwd: work });
    expect(packed.exitCode, packed.stderr).toBe(0);
    const nexus = await startNexusDouble();
    try {
      const config = join(work, 'nexus.yaml');
      await writeFile(config, `trust: [${join(keys, 'outside.pub')}]\ntargets:\n  nexus:\n    type: nexus\n    url: ${nexus.url}\n    usernameEnv: NEXUS_USER\n    passwordEnv: NEXUS_PASSWORD\n    repositories: { apt: apt-hosted }\n`);
      const env = { NEXUS_USER: DEFAULT_USER.username, NEXUS_PASSWORD: DEFAULT_USER.password, HTTP_PROXY: undefined, http_proxy: undefined };
      const ledger = join(work, 'nexus-ledger.jsonl');
      const u = await runAirgap(['unpack', packed.json.bundle, '--to', 'nexus', '--config', config, '--ledger', ledger], { cwd: work, env });
      expect(u.exitCode, u.stderr + u.stdout).toBe(0);
      const posts = nexus.writes();
      expect(posts.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(Array(8).fill('POST /repository/apt-hosted/ 201'));
      const closure = ['base-init_1', 'httpd-alt_1', 'libc-fake_2.36', 'libweb_2.1-1', 'srv-a_1', 'srv-b_1', 'webapp_1.0-1'].map((p) => `${p}_${arch}`).concat('webapp-data_1.0-1_all');
      for (const id of closure) {
        const file = upstream.debs[id];
        const [name, version, a] = id.split('_');
        const stored = await nexus.storage.read('apt-hosted', `pool/${name[0]}/${name}/${name}_${version}_${a}.deb`);
        expect(stored, id).toBeDefined();
        expect(createHash('sha256').update(stored!).digest('hex')).toBe(await sha256(file));
      }
      const again = await runAirgap(['unpack', packed.json.bundle, '--to', 'nexus', '--config', config, '--ledger', ledger], { cwd: work, env });
      expect(again.exitCode, again.stderr).toBe(0);
      expect(nexus.writes()).toHaveLength(8);
      const records = (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(records.filter((r) => r.kind === 'apt' && r.action === 'present')).toHaveLength(8);
    } finally {
      await nexus.close();
    }
  });

  it('with the wrong keyring exits 3 naming the Release file, and leaves no bundle', async () => {
    const out = join(work, 'out-wrongkey');
    const r = await pack(await manifest('apt-wrongkey', { keyring: otherKey.keyring }), out);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`${server.url}dists/stable/InRelease`);
    expect(r.stderr).toContain(otherKey.keyring);
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('fails when a .deb differs from its Packages SHA256, naming it, and leaves no bundle', async () => {
    const bad = join(work, 'bad-archive');
    await execa('cp', ['-a', upstream.root, bad]);
    const evil = await buildDeb(join(work, 'build-evil'), join(work, 'evil'), { name: 'libweb', version: '2.1-1', arch, depends: 'evil' });
    await copyFile(evil, join(bad, `pool/main/libweb_2.1-1_${arch}.deb`));
    const s = await startStaticServer(bad);
    try {
      const out = join(work, 'out-bad');
      const r = await pack(await manifest('apt-bad', { url: s.url }), out);
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toContain(`libweb_2.1-1_${arch}.deb`);
      expect(await readdir(out).catch(() => [])).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
