/**
 * Issue 17 "must show": `verify: {cosignKey}` on an image. Signatures are made here the way cosign makes
 * them — a simple-signing payload naming the image digest, ECDSA P-256 over its bytes (node:crypto),
 * pushed as the `sha256-<hex>.sig` tag to a real docker-registry. A signed image passes (the signature is
 * carried); unsigned, signed by another key, and a signature over another digest each exit 3 naming the image.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';
import { type Registry, skopeoCopy, startRegistry } from './registry-fixtures.js';

let work: string;
let keys: string;
let registry: Registry;
const digests: Record<string, string> = {};
let cosignPub: string;
let otherPub: string;
let cosignKey: KeyObject;
let otherKey: KeyObject;

const sha = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function put(path: string, init: RequestInit): Promise<Response> {
  const res = await fetch(`${registry.url}v2/${path}`, init);
  if (res.status >= 300) throw new Error(`${init.method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

async function pushBlob(repo: string, bytes: Buffer): Promise<string> {
  const digest = sha(bytes);
  const start = await put(`${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(start.headers.get('location')!, registry.url);
  loc.searchParams.set('digest', digest);
  const res = await fetch(loc, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  if (res.status !== 201) throw new Error(`blob PUT: HTTP ${res.status}`);
  return digest;
}

/** cosign's signature image for `image` (digest `subject`): payload naming `named`, signed by `key`. */
async function attachSignature(repo: string, subject: string, named: string, key: KeyObject): Promise<void> {
  const payload = Buffer.from(JSON.stringify({
    critical: { identity: { 'docker-reference': `${registry.host}/${repo}` }, image: { 'docker-manifest-digest': named }, type: 'cosign container image signature' },
    optional: null,
  }));
  const signature = sign('sha256', payload, key).toString('base64');
  const config = Buffer.from('{"architecture":"","config":{},"created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":[]}}');
  const configDigest = await pushBlob(repo, config);
  const payloadDigest = await pushBlob(repo, payload);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: configDigest },
    layers: [{
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: payload.length, digest: payloadDigest,
      annotations: { 'dev.cosignproject.cosign/signature': signature },
    }],
  }));
  await put(`${repo}/manifests/sha256-${subject.slice(7)}.sig`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
}

async function manifest(name: string, repo: string, key: string, extra = ''): Promise<string> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, `apiVersion: airgap/v1\nkind: Bundle\nname: ${name}\nimages:\n  - ref: ${registry.host}/${repo}:1\n    verify: { cosignKey: ${key} }\n${extra}`);
  return file;
}

const pack = (file: string, out: string) => runAirgap(['pack', file, '--out', join(work, out), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });

beforeAll(async () => {
  work = await tempDir('airgap-cosign-');
  keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  registry = await startRegistry(join(work, 'registry'));
  const layout = join(work, 'layout');
  await execa('umoci', ['init', '--layout', layout]);
  await execa('umoci', ['new', '--image', `${layout}:img`]);
  await execa('umoci', ['insert', '--image', `${layout}:img`, '/usr/bin/busybox', '/bin/busybox']);
  await execa('umoci', ['config', '--image', `${layout}:img`, '--os', 'linux', '--architecture', 'amd64']);
  await execa('umoci', ['config', '--image', `${layout}:img`, '--config.cmd', 'other', '--tag', 'img2']);
  for (const [repo, tag] of [['signed', 'img'], ['unsigned', 'img'], ['wrongkey', 'img'], ['otherdigest', 'img2']] as const) {
    await skopeoCopy(`oci:${layout}:${tag}`, `docker://${registry.host}/${repo}:1`);
    const res = await fetch(`${registry.url}v2/${repo}/manifests/1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    digests[repo] = sha(Buffer.from(await res.arrayBuffer()));
  }
  ({ privateKey: cosignKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
  ({ privateKey: otherKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
  cosignPub = join(work, 'cosign.pub');
  otherPub = join(work, 'other.pub');
  await writeFile(cosignPub, createPublicKey(cosignKey).export({ type: 'spki', format: 'pem' }));
  await writeFile(otherPub, createPublicKey(otherKey).export({ type: 'spki', format: 'pem' }));
  // The public key file is checked by openssl too: a real PEM EC P-256 key, as cosign.pub is.
  const text = (await execa('openssl', ['pkey', '-pubin', '-in', cosignPub, '-noout', '-text'])).stdout;
  expect(text).toContain('prime256v1');

  await attachSignature('signed', digests.signed, digests.signed, cosignKey);
  await attachSignature('wrongkey', digests.wrongkey, digests.wrongkey, otherKey);
  // A genuine signature by the right key, but over another image's digest, hung on this image.
  await attachSignature('otherdigest', digests.otherdigest, digests.signed, cosignKey);
}, 180_000);

afterAll(async () => {
  await registry?.stop();
});

describe('images verify: { cosignKey }', () => {
  it('takes an image signed by the key, says so in how it was verified, and carries the signature', async () => {
    const r = await runAirgapJson<{ bundle: string }>(['pack', await manifest('cosign-ok', 'signed', cosignPub), '--out', join(work, 'ok'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    const parts = (await readdir(r.json.bundle)).filter((f) => f.startsWith('part-')).map((f) => join(r.json.bundle, f));
    const index = JSON.parse(String((await execa('sh', ['-c', 'cat "$@" | tar -xOf - airgap-index.json', 'sh', ...parts])).stdout));
    const main = index.artifacts.find((a: { version: string }) => a.version === '1');
    expect(main.digest).toBe(digests.signed);
    expect(main.upstream.verified).toMatch(new RegExp(`cosign signature by key sha256:[0-9a-f]{16} over ${digests.signed} verified`));
    expect(index.artifacts.map((a: { version: string }) => a.version)).toContain(`sha256-${digests.signed.slice(7)}.sig`);
  });

  it('takes the key from policy.images.verify too, and refuses there as well', async () => {
    const file = join(work, 'policy.yaml');
    await writeFile(file, `apiVersion: airgap/v1\nkind: Bundle\nname: cosign-policy\nimages:\n  - ref: ${registry.host}/unsigned:1\npolicy:\n  images:\n    verify: { cosignKey: ${cosignPub} }\n`);
    const r = await pack(file, 'policy');
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain(`image ${registry.host}/unsigned:1: no cosign signature`);
  });

  for (const [what, repo, key, message] of [
    ['an unsigned image', 'unsigned', () => cosignPub, 'no cosign signature (the registry has no sha256-'],
    ['an image signed by another key', 'wrongkey', () => cosignPub, 'is not by key'],
    ['a signed image checked with another key', 'signed', () => otherPub, 'is not by key'],
    ['a signature over another digest', 'otherdigest', () => cosignPub, `is over ${'sha256:'}`],
  ] as const) {
    it(`refuses ${what} with exit 3 naming the image, and writes no bundle`, async () => {
      const out = `bad-${repo}`;
      const r = await pack(await manifest(`cosign-${repo}`, repo, key()), out);
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toContain(`image ${registry.host}/${repo}:1`);
      expect(r.stderr).toContain(message);
      if (repo === 'otherdigest') expect(r.stderr).toContain(`over ${digests.signed}, not the image's ${digests.otherdigest}`);
      expect(await readdir(join(work, out)).catch(() => [])).toEqual([]);
    });
  }

  it('refuses a key file that is not an ECDSA P-256 public key (exit 2) before any request', async () => {
    const bad = join(work, 'rsa.pub');
    await execa('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', join(work, 'rsa.key')]);
    await execa('openssl', ['pkey', '-in', join(work, 'rsa.key'), '-pubout', '-out', bad]);
    const r = await pack(await manifest('cosign-rsa', 'signed', bad), 'rsa');
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('not ECDSA P-256');
    expect(await readFile(bad, 'utf8')).toContain('BEGIN PUBLIC KEY');
  });
});
