/**
 * Issue 2 "must show": the foundation round trip through the real CLI (bin/run.js), checked with
 * independent tools (GNU tar, sha256sum, minisign). Files come from a static HTTP server on loopback
 * and from local paths.
 */
import { randomBytes, createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile, appendFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { flipByte, resealBundle, runAirgap, runAirgapJson, startStaticServer, tempDir, type StaticServer } from '../harness/index.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let work: string;
let upstream: StaticServer;
let keys: string;
const content: Record<string, Buffer> = {};

async function writeManifest(name: string, body: string): Promise<string> {
  const p = join(work, name);
  await writeFile(p, body);
  return p;
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, rel: string) {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(d, e.name), r);
      else out.push(r);
    }
  }
  await walk(dir, '');
  return out.sort();
}

async function packBundle(manifest: string, out: string, extra: string[] = []) {
  const r = await runAirgapJson<{ bundle: string; parts: number; artifacts: number; bytes: number }>(
    ['pack', manifest, '--out', out, '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache'), ...extra], { cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.json;
}

beforeAll(async () => {
  work = await tempDir();
  const site = join(work, 'site');
  await mkdir(join(site, 'tools'), { recursive: true });
  for (const [name, size] of [['tools/alpha.bin', 1_500_000], ['tools/beta.tar.gz', 2_300_000], ['gamma.txt', 1234]] as const) {
    content[name] = randomBytes(size);
    await writeFile(join(site, name), content[name]);
  }
  content['local.conf'] = Buffer.from('listen 127.0.0.1\n');
  await writeFile(join(work, 'local.conf'), content['local.conf']);
  upstream = await startStaticServer(site);
  keys = join(work, 'keys');
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  const k2 = await runAirgap(['keygen', '--out-dir', keys, '--name', 'stranger']);
  expect(k2.exitCode, k2.stderr).toBe(0);
});

afterAll(async () => {
  await upstream?.close();
});

function manifestText(name = 'foundation'): string {
  return `apiVersion: airgap/v1
kind: Bundle
name: ${name}
files:
  - url: ${upstream.url}tools/alpha.bin
    sha256: ${sha256(content['tools/alpha.bin'])}
    path: tools/
  - url: ${upstream.url}tools/beta.tar.gz
    sha256: ${sha256(content['tools/beta.tar.gz'])}
    path: tools/beta-renamed.tar.gz
  - url: ${upstream.url}gamma.txt
    sha256: ${sha256(content['gamma.txt'])}
  - url: ./local.conf
    path: etc/
`;
}

describe('CLI', () => {
  it('--help lists the commands', async () => {
    const r = await runAirgap(['--help']);
    expect(r.exitCode).toBe(0);
    for (const c of ['keygen', 'pack', 'verify', 'inspect', 'unpack']) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\s`, 'm'));
  });

  it('npx airgap --help works from the repository', async () => {
    const r = await execa('npx', ['--no-install', 'airgap', '--help'], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toContain('unpack');
  });

  it('an unknown flag is a usage error (exit 2)', async () => {
    const r = await runAirgap(['pack', 'x.yaml', '--out', work, '--no-such-flag']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no-such-flag/);
  });

  it('keygen refuses to overwrite without --force and writes a 0600 key', async () => {
    const r = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('outside.key');
    expect((await stat(join(keys, 'outside.key'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(keys, 'outside.pub'), 'utf8')).toMatch(/^untrusted comment: minisign public key/);
  });
});

describe('pack → verify → unpack (files → dir mirror)', () => {
  let bundle: string;
  let mirror: string;
  let ledger: string;

  beforeAll(async () => {
    const manifest = await writeManifest('m.yaml', manifestText());
    const r = await packBundle(manifest, join(work, 'out'), ['--chunk-size', '1MiB']);
    bundle = r.bundle;
    expect(r.artifacts).toBe(4);
    mirror = join(work, 'mirror');
    ledger = join(work, 'ledger.jsonl');
  });

  it('cuts parts no larger than --chunk-size and names the bundle <name>-<UTC stamp>', async () => {
    expect(bundle).toMatch(/\/foundation-\d{8}T\d{6}Z$/);
    const parts = (await readdir(bundle)).filter((f) => f.startsWith('part-')).sort();
    expect(parts.length).toBeGreaterThanOrEqual(4);
    expect(parts[0]).toBe('part-00001');
    for (const p of parts) expect((await stat(join(bundle, p))).size).toBeLessThanOrEqual(1024 * 1024);
  });

  it('sha256sum -c SHA256SUMS passes and covers every part and bundle.json', async () => {
    const r = await execa('sha256sum', ['-c', 'SHA256SUMS'], { cwd: bundle, reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const listed = (await readFile(join(bundle, 'SHA256SUMS'), 'utf8')).trim().split('\n').map((l) => l.split(/\s+\*?/)[1]).sort();
    const expected = (await readdir(bundle)).filter((f) => f.startsWith('part-') || f === 'bundle.json').sort();
    expect(listed).toEqual(expected);
  });

  it('the real minisign accepts the signature', async () => {
    const r = await execa('minisign', ['-Vm', 'bundle.json', '-p', join(keys, 'outside.pub')], { cwd: bundle, reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toMatch(/foundation/);
  });

  it('GNU tar lists airgap-index.json first in the concatenated parts', async () => {
    const r = await execa('sh', ['-c', 'cat part-* | tar -tf -'], { cwd: bundle });
    const entries = String(r.stdout).trim().split('\n');
    expect(entries[0]).toBe('airgap-index.json');
    expect(entries).toContain('oci-layout');
    expect(entries).toContain('index.json');
    for (const b of Object.values(content)) expect(entries).toContain(`blobs/sha256/${sha256(b)}`);
  });

  it('verify passes with the trusted key and prints JSON', async () => {
    const r = await runAirgapJson(['verify', bundle, '--pub', join(keys, 'outside.pub')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ verified: true, name: 'foundation', artifacts: 4 });
  });

  it('inspect lists the artifacts without a key', async () => {
    const r = await runAirgapJson<{ artifacts: { name: string; digest: string }[] }>(['inspect', bundle]);
    expect(r.exitCode).toBe(0);
    expect(r.json.artifacts.map((a) => a.name).sort()).toEqual(['etc/local.conf', 'gamma.txt', 'tools/alpha.bin', 'tools/beta-renamed.tar.gz']);
    const text = await runAirgap(['inspect', bundle]);
    expect(text.stdout).toContain('tools/alpha.bin');
  });

  it('unpack writes every file byte-identical and records one ledger line per artifact', async () => {
    const r = await runAirgapJson(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', ledger]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.counts).toEqual({ pushed: 4 });
    expect(sha256(await readFile(join(mirror, 'files/tools/alpha.bin')))).toBe(sha256(content['tools/alpha.bin']));
    expect(sha256(await readFile(join(mirror, 'files/tools/beta-renamed.tar.gz')))).toBe(sha256(content['tools/beta.tar.gz']));
    expect(sha256(await readFile(join(mirror, 'files/gamma.txt')))).toBe(sha256(content['gamma.txt']));
    expect(sha256(await readFile(join(mirror, 'files/etc/local.conf')))).toBe(sha256(content['local.conf']));
    const records = (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const arts = records.filter((x) => x.kind !== 'run' && x.kind !== 'intent'); // intents: test/ledger/intent.test.ts
    expect(arts).toHaveLength(4);
    for (const rec of arts) {
      for (const f of ['v', 'seq', 'time', 'run', 'bundle', 'signer', 'kind', 'name', 'version', 'platform', 'digest', 'size', 'target', 'action', 'error', 'durationMs', 'prev']) expect(rec).toHaveProperty(f);
      expect(rec.action).toBe('pushed');
      expect(rec.bundle.name).toBe('foundation');
      expect(rec.bundle.sha256).toBe(sha256(await readFile(join(bundle, 'bundle.json'))));
      expect(rec.prev).toMatch(/^[a-f0-9]{64}$/);
    }
    const keyId = (await readFile(join(keys, 'outside.pub'), 'utf8')).match(/minisign public key ([0-9A-F]+)/)![1];
    expect(arts[0].signer).toBe(keyId);
  });

  it('a second unpack records present for every artifact and writes nothing else', async () => {
    const before = await Promise.all((await listTree(mirror)).map(async (f) => [f, (await stat(join(mirror, f))).mtimeMs] as const));
    const r = await runAirgapJson(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', ledger]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.counts).toEqual({ present: 4 });
    const after = await Promise.all((await listTree(mirror)).map(async (f) => [f, (await stat(join(mirror, f))).mtimeMs] as const));
    expect(after).toEqual(before);
    const records = (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const second = records.filter((x) => x.kind !== 'run' && x.kind !== 'intent' && x.run === records[records.length - 1].run);
    expect(second.map((x) => x.action)).toEqual(['present', 'present', 'present', 'present']);
  });

  it('unpack --dry-run reports without writing or recording', async () => {
    const fresh = join(work, 'mirror-dry');
    const ledgerDry = join(work, 'dry.jsonl');
    const r = await runAirgapJson(['unpack', bundle, '--to', `dir:${fresh}`, '--pub', join(keys, 'outside.pub'), '--ledger', ledgerDry, '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.counts).toEqual({ 'would-push': 4 });
    await expect(stat(fresh)).rejects.toThrow();
    await expect(stat(ledgerDry)).rejects.toThrow();
  });
});

describe('pack failures and the cache', () => {
  it('a second pack of the same manifest makes zero requests to the file server', async () => {
    const manifest = await writeManifest('cache.yaml', manifestText('cached'));
    const cache = join(work, 'cache-2');
    const first = await runAirgapJson(['pack', manifest, '--out', join(work, 'out-cache'), '--key', join(keys, 'outside.key'), '--cache', cache], { cwd: work });
    expect(first.exitCode, first.stderr).toBe(0);
    const before = upstream.requests.length;
    expect(before).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1100)); // a new UTC second: a new bundle directory name
    const second = await runAirgapJson(['pack', manifest, '--out', join(work, 'out-cache'), '--key', join(keys, 'outside.key'), '--cache', cache], { cwd: work });
    expect(second.exitCode, second.stderr).toBe(0);
    expect(upstream.requests.length - before).toBe(0);
    expect(second.json.bundle).not.toBe(first.json.bundle);
  });

  it('without a sha256 the second pack revalidates (304) and downloads nothing', async () => {
    const manifest = await writeManifest('nosum.yaml', `apiVersion: airgap/v1\nkind: Bundle\nname: nosum\nfiles:\n  - url: ${upstream.url}tools/alpha.bin\n`);
    const cache = join(work, 'cache-3');
    const args = ['pack', manifest, '--out', join(work, 'out-nosum'), '--key', join(keys, 'outside.key'), '--cache', cache];
    expect((await runAirgap(args, { cwd: work })).exitCode).toBe(0);
    const mark = upstream.requests.length;
    await new Promise((r) => setTimeout(r, 1100));
    expect((await runAirgap(args, { cwd: work })).exitCode).toBe(0);
    const again = upstream.requests.slice(mark);
    expect(again).toHaveLength(1);
    expect(again[0].headers['if-none-match']).toBeTruthy();
  });

  it('a pack that fails half-way (404) leaves no bundle directory behind', async () => {
    const manifest = await writeManifest('broken.yaml', manifestText('broken') + `  - url: ${upstream.url}missing/nothing.bin\n`);
    const out = join(work, 'out-broken');
    await mkdir(out, { recursive: true });
    const r = await runAirgap(['pack', manifest, '--out', out, '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache-4')], { cwd: work });
    // a URL the upstream does not have: a manifest mistake (exit 2, docs/exit-codes.md)
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('missing/nothing.bin');
    expect(r.stderr).toContain('404');
    expect(await readdir(out)).toEqual([]);
  });

  it('--keep-going packs the rest, records what is missing and exits 4', async () => {
    const manifest = await writeManifest('broken2.yaml', manifestText('partial') + `  - url: ${upstream.url}missing/nothing.bin\n`);
    const out = join(work, 'out-partial');
    const r = await runAirgapJson<{ bundle: string; skipped: unknown[] }>(['pack', manifest, '--out', out, '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache-4'), '--keep-going'], { cwd: work });
    expect(r.exitCode).toBe(4);
    expect(r.json.skipped).toHaveLength(1);
    const descriptor = JSON.parse(await readFile(join(r.json.bundle, 'bundle.json'), 'utf8'));
    expect(JSON.stringify(descriptor.incomplete)).toContain('missing/nothing.bin');
    expect(descriptor.totals.artifacts).toBe(4);
  });

  it('a sha256 mismatch fails the pack (exit 3, an integrity failure as in every ecosystem) naming the URL and both digests', async () => {
    const wrong = 'ab'.repeat(32);
    const manifest = await writeManifest('wrongsum.yaml', `apiVersion: airgap/v1\nkind: Bundle\nname: wrongsum\nfiles:\n  - url: ${upstream.url}gamma.txt\n    sha256: ${wrong}\n`);
    const out = join(work, 'out-wrongsum');
    const r = await runAirgap(['pack', manifest, '--out', out, '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache-5')], { cwd: work });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`${upstream.url}gamma.txt`);
    expect(r.stderr).toContain(wrong);
    expect(r.stderr).toContain(sha256(content['gamma.txt']));
  });

  it('a missing local file source exits 2 (a name the upstream does not have, docs/exit-codes.md) naming it', async () => {
    const manifest = await writeManifest('nofile.yaml', `apiVersion: airgap/v1\nkind: Bundle\nname: nofile\nfiles:\n  - url: ./does-not-exist.bin\n`);
    const r = await runAirgap(['pack', manifest, '--out', join(work, 'out-nofile'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache-6')], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('does-not-exist.bin');
  });

  it('a malformed manifest exits 2 naming the key path', async () => {
    const manifest = await writeManifest('bad.yaml', `apiVersion: airgap/v1\nkind: Bundle\nname: bad\nfiles:\n  - url: ${upstream.url}gamma.txt\n    sha265: abc\n`);
    const r = await runAirgap(['pack', manifest, '--out', join(work, 'out-bad'), '--key', join(keys, 'outside.key')], { cwd: work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/files\[0\]\.sha265/);
    const json = await runAirgapJson(['pack', manifest, '--out', join(work, 'out-bad'), '--key', join(keys, 'outside.key')], { cwd: work });
    expect(json.exitCode).toBe(2);
    expect(json.json.error.message).toMatch(/files\[0\]\.sha265/);
  });

  it('a malformed config exits 2 naming the key path', async () => {
    const cfg = join(work, 'bad-config.yaml');
    await writeFile(cfg, 'http:\n  retries: many\n');
    const manifest = await writeManifest('ok.yaml', manifestText('ok'));
    const r = await runAirgap(['pack', manifest, '--out', join(work, 'out-bad'), '--key', join(keys, 'outside.key'), '--config', cfg], { cwd: work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/http\.retries/);
  });
});

describe('tampering is refused with exit 3, naming the fault', () => {
  let pristine: string;

  beforeAll(async () => {
    const manifest = await writeManifest('tamper.yaml', manifestText('tamper'));
    pristine = (await packBundle(manifest, join(work, 'out-tamper'), ['--chunk-size', '1MiB'])).bundle;
  });

  async function copyBundle(tag: string): Promise<string> {
    const dst = join(work, 'tampered', tag);
    await mkdir(dst, { recursive: true });
    await execa('cp', ['-a', `${pristine}/.`, dst]);
    return dst;
  }

  async function expectRefused(dir: string, pattern: RegExp, pub = join(keys, 'outside.pub')) {
    const v = await runAirgap(['verify', dir, '--pub', pub]);
    expect(v.exitCode, v.stderr).toBe(3);
    expect(v.stderr).toMatch(pattern);
    const mirror = join(work, 'tamper-mirror', String(Math.random()).slice(2));
    const u = await runAirgap(['unpack', dir, '--to', `dir:${mirror}`, '--pub', pub, '--ledger', join(mirror + '.jsonl')]);
    expect(u.exitCode, u.stderr).toBe(3);
    expect(u.stderr).toMatch(pattern);
    await expect(stat(mirror)).rejects.toThrow(); // nothing published, not even the folder
  }

  it.each(['first', 'middle', 'last'])('one flipped byte in the %s part', async (which) => {
    const dir = await copyBundle(`flip-${which}`);
    const parts = (await readdir(dir)).filter((f) => f.startsWith('part-')).sort();
    const part = which === 'first' ? parts[0] : which === 'last' ? parts[parts.length - 1] : parts[Math.floor(parts.length / 2)];
    const size = (await stat(join(dir, part))).size;
    await flipByte(join(dir, part), Math.floor(size / 2));
    await expectRefused(dir, new RegExp(part));
  });

  it('a truncated part', async () => {
    const dir = await copyBundle('truncated');
    await truncate(join(dir, 'part-00002'), 1000);
    await expectRefused(dir, /part-00002/);
  });

  it('a missing part', async () => {
    const dir = await copyBundle('missing');
    await rm(join(dir, 'part-00003'));
    await expectRefused(dir, /part-00003/);
  });

  it('a part with bytes appended', async () => {
    const dir = await copyBundle('appended');
    await appendFile(join(dir, 'part-00001'), 'x');
    await expectRefused(dir, /part-00001/);
  });

  it('a signature by an untrusted key', async () => {
    await expectRefused(pristine, /untrusted|not trusted/i, join(keys, 'stranger.pub'));
  });

  it('no signature', async () => {
    const dir = await copyBundle('unsigned');
    await rm(join(dir, 'bundle.json.minisig'));
    await expectRefused(dir, /signature|unsigned|minisig/i);
  });

  it('an edited bundle.json', async () => {
    const dir = await copyBundle('edited');
    const d = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8'));
    d.parts[0].size += 1;
    await writeFile(join(dir, 'bundle.json'), JSON.stringify(d, null, 2));
    await expectRefused(dir, /bundle\.json|signature/i);
  });

  it('no trusted key configured at all: a configuration error (exit 2, docs/exit-codes.md)', async () => {
    const v = await runAirgap(['verify', pristine], { cwd: work });
    expect(v.exitCode).toBe(2);
    expect(v.stderr).toMatch(/trusted/);
  });
});
