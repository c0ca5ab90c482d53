/**
 * `airgap serve` as an OCI registry (issue 13): images packed from a real docker-registry (fixtures of
 * test/oci), unpacked into a dir: mirror, the upstream registry stopped; then skopeo reads the upstream
 * digests through serve, and Debian's containerd (a private instance: its own config, root, state and
 * socket in a temp dir) pulls an image by its upstream name through the hosts.toml client-config wrote.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';
import { type Registry, buildFixtureLayout, inspectRaw, manifestDigestInLayout, skopeoCopy, startRegistry } from '../oci/registry-fixtures.js';
import { type ServeProcess, startServe } from './serve-process.js';

let work: string;
let layout: string;
let upstream: Registry;
let serve: ServeProcess;
let mirror: string;
let up: string;
let seg: string;
const digests: Record<string, string> = {};

beforeAll(async () => {
  work = await tempDir('airgap-serve-oci-');
  layout = await buildFixtureLayout(join(work, 'fixture'));
  upstream = await startRegistry(join(work, 'upstream'));
  up = upstream.host;
  seg = up.replace(':', '_');
  await skopeoCopy(`oci:${layout}:multi`, `docker://${up}/team/multi:1`, ['--all']);
  await skopeoCopy(`oci:${layout}:multi`, `docker://${up}/team/multi-arm:1`, ['--all']);
  await skopeoCopy(`oci:${layout}:amd64`, `docker://${up}/team/one:1`);
  for (const n of ['multi', 'one']) digests[n] = (await inspectRaw(`docker://${up}/team/${n}:1`)).digest;
  const keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  await writeFile(join(work, 'images.yaml'), ['apiVersion: airgap/v1', 'kind: Bundle', 'name: images', 'images:',
    `  - ref: ${up}/team/multi:1`, `  - ref: ${up}/team/multi-arm:1`, '    platforms: [linux/arm64]', `  - ref: ${up}/team/one:1`, ''].join('\n'));
  const p = await runAirgapJson<{ bundle: string }>(['pack', join(work, 'images.yaml'), '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')]);
  expect(p.exitCode, p.stderr).toBe(0);
  mirror = join(work, 'mirror');
  const u = await runAirgap(['unpack', p.json.bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', join(work, 'ledger.jsonl')]);
  expect(u.exitCode, u.stderr).toBe(0);
  await upstream.stop();
  serve = await startServe(mirror);
});

afterAll(async () => {
  await serve?.stop();
  await upstream?.stop().catch(() => undefined);
});

const host = () => new URL(serve.url).host;

describe('airgap serve: the OCI pull API over oci/', () => {
  it('skopeo inspect --raw through serve gives the upstream digest of a multi-arch index and of a single image', async () => {
    expect((await inspectRaw(`docker://${host()}/${seg}/team/multi:1`)).digest).toBe(digests.multi);
    expect((await inspectRaw(`docker://${host()}/${seg}/team/one:1`)).digest).toBe(digests.one);
  });

  it('a platform-filtered image: the new index lists arm64 only, with the upstream per-platform digest', async () => {
    const arm = await inspectRaw(`docker://${host()}/${seg}/team/multi-arm:1`);
    const doc = JSON.parse(arm.raw) as { manifests: { digest: string; platform: { architecture: string } }[] };
    expect(doc.manifests.map((m) => m.platform.architecture)).toEqual(['arm64']);
    expect(doc.manifests[0].digest).toBe(await manifestDigestInLayout(layout, 'arm64'));
    const child = await inspectRaw(`docker://${host()}/${seg}/team/multi-arm@${doc.manifests[0].digest}`);
    expect(child.digest).toBe(doc.manifests[0].digest);
  });

  it('skopeo copy --all pulls every blob through serve', async () => {
    await skopeoCopy(`docker://${host()}/${seg}/team/multi:1`, `oci:${join(work, 'pulled')}:multi`, ['--all']);
    expect((await inspectRaw(`oci:${join(work, 'pulled')}:multi`)).digest).toBe(digests.multi);
  });

  it('headers, Range, tags/list, _catalog and OCI error bodies', async () => {
    const m = await fetch(`${serve.url}v2/${seg}/team/one/manifests/1`, { method: 'HEAD' });
    expect(m.status).toBe(200);
    expect(m.headers.get('docker-content-digest')).toBe(digests.one);
    expect(m.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(m.headers.get('content-type')).toMatch(/^application\/vnd\.(oci|docker)\..*manifest/);
    const manifest = JSON.parse(await (await fetch(`${serve.url}v2/${seg}/team/one/manifests/${digests.one}`)).text()) as { layers: { digest: string; size: number }[] };
    expect(Number(m.headers.get('content-length'))).toBeGreaterThan(0);
    const layer = manifest.layers[0];
    const part = await fetch(`${serve.url}v2/${seg}/team/one/blobs/${layer.digest}`, { headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${layer.size}`);
    const whole = Buffer.from(await (await fetch(`${serve.url}v2/${seg}/team/one/blobs/${layer.digest}`)).arrayBuffer());
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(10, 20))).toBe(true);
    expect(await (await fetch(`${serve.url}v2/${seg}/team/multi/tags/list`)).json()).toEqual({ name: `${seg}/team/multi`, tags: ['1'] });
    expect(await (await fetch(`${serve.url}v2/_catalog`)).json()).toEqual({ repositories: [`${seg}/team/multi`, `${seg}/team/multi-arm`, `${seg}/team/one`] });
    const codes = async (url: string) => {
      const r = await fetch(url);
      return [r.status, ((await r.json()) as { errors: { code: string }[] }).errors[0].code];
    };
    expect(await codes(`${serve.url}v2/${seg}/team/one/manifests/2`)).toEqual([404, 'MANIFEST_UNKNOWN']);
    expect(await codes(`${serve.url}v2/${seg}/team/one/blobs/sha256:${'0'.repeat(64)}`)).toEqual([404, 'BLOB_UNKNOWN']);
    expect(await codes(`${serve.url}v2/${seg}/team/nothing/manifests/1`)).toEqual([404, 'NAME_UNKNOWN']);
    // containerd's mirror form: the repository without the host, the host in ?ns=
    const ns = await fetch(`${serve.url}v2/team/one/manifests/1?ns=${encodeURIComponent(up)}`, { method: 'HEAD' });
    expect(ns.headers.get('docker-content-digest')).toBe(digests.one);
  });

  it('containerd pulls 127.0.0.1:<upstream>/team/one:1 by its upstream name through the generated hosts.toml, the upstream stopped', async () => {
    const clients = join(work, 'clients');
    const c = await runAirgap(['client-config', '--mirror', mirror, '--server', serve.url, '--out', clients]);
    expect(c.exitCode, c.stderr).toBe(0);
    const toml = await readFile(join(clients, 'containerd', 'certs.d', up, 'hosts.toml'), 'utf8');
    expect(toml).toContain(`[host."${serve.url.replace(/\/$/, '')}"]`);
    expect(toml).toContain('capabilities = ["pull", "resolve"]');
    expect(await readFile(join(clients, 'crio', 'registries.conf.d', 'airgap.conf'), 'utf8')).toContain(`location = "${host()}/${seg}"`);

    const ct = join(work, 'ctd');
    await mkdir(ct, { recursive: true });
    const sock = join(ct, 'c.sock');
    await writeFile(join(ct, 'config.toml'), [
      'version = 2', `root = "${join(ct, 'root')}"`, `state = "${join(ct, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]', '[grpc]', `  address = "${sock}"`, '[ttrpc]', `  address = "${sock}.ttrpc"`, '',
    ].join('\n'));
    const daemon: ResultPromise = execa('containerd', ['--config', join(ct, 'config.toml')], { reject: false, stdin: 'ignore', all: true });
    try {
      const ctr = (...args: string[]) => execa('ctr', ['--address', sock, ...args], { reject: false, timeout: 120_000 });
      for (let i = 0; (await ctr('version')).exitCode !== 0; i++) {
        if (i > 100 || daemon.exitCode !== null) throw new Error(`containerd did not start: ${String((await daemon).all)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const before = serve.lines().length;
      const pull = await ctr('images', 'pull', '--hosts-dir', join(clients, 'containerd', 'certs.d'), '--snapshotter', 'native', `${up}/team/one:1`);
      expect(pull.exitCode, `${pull.stdout}\n${pull.stderr}`).toBe(0);
      const ls = await ctr('images', 'ls');
      expect(ls.stdout).toContain(`${up}/team/one:1`);
      expect(ls.stdout).toContain(digests.one);
      // containerd asked the mirror form (?ns=<upstream host>), and only serve answered.
      expect(serve.lines().slice(before).some((l) => l.includes(`/v2/team/one/manifests/1?ns=${encodeURIComponent(up)}`) || l.includes(`/v2/team/one/manifests/1?ns=${up}`))).toBe(true);
    } finally {
      daemon.kill('SIGTERM');
      await daemon;
    }
  });
});
