/**
 * docs/oci.md "Moved tags": a bundle whose image tag points to another digest at the target moves the tag
 * by default (as docker push does) and the ledger's pushed record carries the digest it pointed to
 * (`previous`); a target with `immutableTags: true` refuses the move: exit 4, naming the tag and both
 * digests, the tag left where it was, the rest of the bundle published. For every target that holds OCI
 * tags: a real docker-registry (registries), the same behind a Nexus target (the test double answers the
 * REST preflight, the registry is its docker connector), and a dir: mirror's oci/index.json.
 * Bundles are forged and validly signed (test/security/forge.ts); tags are checked with skopeo.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretKey } from '@airgap/bundle';
import { runAirgap, tempDir } from '../harness/index.js';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { type Forged, bend, forgeBundle, goodArtifacts, signingKey } from '../security/forge.js';
import { type Registry, inspectRaw, startRegistry } from './registry-fixtures.js';

let root: string;
let key: SecretKey;
let pub: string;
let registry: Registry;
let connector: Registry;
let nexus: NexusDouble;
let config: string;
const good = goodArtifacts();
const NX_ENV = { NX_USER: DEFAULT_USER.username, NX_PASS: DEFAULT_USER.password };

/** The image `127.0.0.1:5000/team/app:<tag>` with fresh bytes (so a new digest each call). */
function image(tag: string, attachedTo?: string): Forged {
  const i = good.image();
  let a = bend(bend(bend(i.artifact, 'meta.tag', tag), 'version', tag), 'oci.refName', `127.0.0.1:5000/team/app:${tag}`);
  if (attachedTo) a = bend(a, 'meta.attachedTo', attachedTo);
  return { ...i, artifact: a };
}

beforeAll(async () => {
  root = await tempDir('airgap-moved-tags-');
  ({ key, pubFile: pub } = await signingKey(join(root, 'keys')));
  registry = await startRegistry(join(root, 'registry'));
  connector = await startRegistry(join(root, 'connector'), { type: 'htpasswd', user: DEFAULT_USER.username, password: DEFAULT_USER.password });
  nexus = await startNexusDouble();
  config = join(root, 'airgap.yaml');
  await writeFile(config, [
    'targets:',
    `  reg: { type: registries, endpoints: { docker: "${registry.url}" } }`,
    `  reg-immutable: { type: registries, endpoints: { docker: "${registry.url}" }, immutableTags: true }`,
    `  nexus-immutable: { type: nexus, url: "${nexus.url}", usernameEnv: NX_USER, passwordEnv: NX_PASS, repositories: { docker: docker-hosted }, endpoints: { docker: "${connector.url}" }, immutableTags: true }`,
    `  mirror-immutable: { type: dir, path: "${join(root, 'mirror-immutable')}", immutableTags: true }`,
    '',
  ].join('\n'));
});

afterAll(async () => {
  await nexus?.close();
  await connector?.stop();
  await registry?.stop();
});

let n = 0;
async function unpack(items: Forged[], to: string, ledger: string) {
  const dir = await forgeBundle(join(root, 'bundles', `b${n++}`), key, items, { name: 'tags' });
  return runAirgap(['unpack', dir, '--to', to, '--pub', pub, '--config', config, '--ledger', ledger], { env: NX_ENV });
}

async function records(ledger: string): Promise<Record<string, any>[]> {
  return (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
}

/** The record of the image in the newest run of a ledger. */
async function lastImageRecord(ledger: string): Promise<Record<string, any>> {
  const all = await records(ledger);
  return all.filter((r) => r.kind === 'image').at(-1)!;
}

const tagAt = async (reg: Registry, tag: string, creds: string[] = []) => (await inspectRaw(`docker://${reg.host}/127.0.0.1_5000/team/app:${tag}`, creds)).digest;

async function layoutRef(mirror: string, tag: string): Promise<string | undefined> {
  const index = JSON.parse(await readFile(join(mirror, 'oci', 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  return index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === `127.0.0.1:5000/team/app:${tag}`)?.digest;
}

describe('a moved tag is moved and recorded with the previous digest (the default)', () => {
  it('registries target (docker-registry): the tag moves, the ledger says from where', async () => {
    const ledger = join(root, 'reg.jsonl');
    const [one, two] = [image('moves'), image('moves')];
    expect((await unpack([one], 'reg', ledger)).exitCode).toBe(0);
    expect(await tagAt(registry, 'moves')).toBe(one.artifact.digest);
    expect((await lastImageRecord(ledger)).previous).toBeUndefined();
    const r = await unpack([two], 'reg', ledger);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`points to ${one.artifact.digest}; it will be moved to ${two.artifact.digest}`);
    expect(await tagAt(registry, 'moves')).toBe(two.artifact.digest);
    const rec = await lastImageRecord(ledger);
    expect([rec.action, rec.digest, rec.previous]).toEqual(['pushed', two.artifact.digest, one.artifact.digest]);
    // The ledger with the new field still checks.
    expect((await runAirgap(['ledger', 'verify', ledger])).exitCode).toBe(0);
  });

  it('dir: target (oci/index.json): the ref moves, the ledger says from where', async () => {
    const ledger = join(root, 'dir.jsonl');
    const mirror = join(root, 'mirror');
    const [one, two] = [image('moves'), image('moves')];
    expect((await unpack([one], `dir:${mirror}`, ledger)).exitCode).toBe(0);
    expect(await layoutRef(mirror, 'moves')).toBe(one.artifact.digest);
    const r = await unpack([two], `dir:${mirror}`, ledger);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await layoutRef(mirror, 'moves')).toBe(two.artifact.digest);
    const rec = await lastImageRecord(ledger);
    expect([rec.action, rec.previous]).toEqual(['pushed', one.artifact.digest]);
  });
});

describe('immutableTags: true refuses to move a tag (exit 4 naming the tag and both digests)', () => {
  it('registries target: refused, the tag keeps its digest; a new tag is still pushed', async () => {
    const ledger = join(root, 'reg-imm.jsonl');
    const [one, two, fresh] = [image('fixed'), image('fixed'), image('new-tag')];
    expect((await unpack([one], 'reg-immutable', ledger)).exitCode).toBe(0);
    const r = await unpack([two, fresh], 'reg-immutable', ledger);
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`tag fixed at 127\\.0\\.0\\.1:\\d+/127\\.0\\.0\\.1_5000/team/app:fixed points to ${one.artifact.digest}; this bundle has ${two.artifact.digest}: not moved, target reg-immutable has immutableTags: true`));
    expect(await tagAt(registry, 'fixed')).toBe(one.artifact.digest);
    expect(await tagAt(registry, 'new-tag')).toBe(fresh.artifact.digest);
    const all = (await records(ledger)).filter((x) => x.kind === 'image').slice(-2);
    expect(all.map((x) => [x.version, x.action])).toEqual(expect.arrayContaining([['fixed', 'failed'], ['new-tag', 'pushed']]));
    expect(all.find((x) => x.version === 'fixed')!.error).toContain(one.artifact.digest);
  });

  it('nexus target (docker endpoint): refused the same way', async () => {
    const ledger = join(root, 'nexus-imm.jsonl');
    const creds = [`--creds=${DEFAULT_USER.username}:${DEFAULT_USER.password}`];
    const [one, two] = [image('fixed'), image('fixed')];
    const first = await unpack([one], 'nexus-immutable', ledger);
    expect(first.exitCode, first.stderr).toBe(0);
    const r = await unpack([two], 'nexus-immutable', ledger);
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toContain(`points to ${one.artifact.digest}; this bundle has ${two.artifact.digest}: not moved`);
    expect(await tagAt(connector, 'fixed', creds)).toBe(one.artifact.digest);
  });

  it('dir target: refused, index.json keeps the ref; the file of the same bundle is published (partial)', async () => {
    const ledger = join(root, 'dir-imm.jsonl');
    const mirror = join(root, 'mirror-immutable');
    const [one, two] = [image('fixed'), image('fixed')];
    expect((await unpack([one], 'mirror-immutable', ledger)).exitCode).toBe(0);
    const file = good.file();
    const r = await unpack([two, file], 'mirror-immutable', ledger);
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`tag fixed at .*index\\.json points to ${one.artifact.digest}; this bundle has ${two.artifact.digest}: not moved`));
    expect(await layoutRef(mirror, 'fixed')).toBe(one.artifact.digest);
    expect(await readFile(join(mirror, 'files', 'tools', 'hello.txt'), 'utf8')).toMatch(/^hello /);
    expect((await lastImageRecord(ledger)).action).toBe('failed');
  });

  it('the tag of an attached signature (sha256-<hex>.sig) still moves, recorded (docs/oci.md)', async () => {
    const ledger = join(root, 'dir-imm-sig.jsonl');
    const mirror = join(root, 'mirror-immutable');
    const subject = 'sha256:' + 'c'.repeat(64);
    const tag = `sha256-${'c'.repeat(64)}.sig`;
    const [one, two] = [image(tag, subject), image(tag, subject)];
    expect((await unpack([one], 'mirror-immutable', ledger)).exitCode).toBe(0);
    const r = await unpack([two], 'mirror-immutable', ledger);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await layoutRef(mirror, tag)).toBe(two.artifact.digest);
    expect((await lastImageRecord(ledger)).previous).toBe(one.artifact.digest);
  });
});
