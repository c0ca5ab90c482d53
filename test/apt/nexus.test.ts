import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Artifact, type NexusTargetConfig, ContentStore, TargetError } from '@airgap/core';
import { apt, nexusAssetPath } from '@airgap/apt';
import { startStaticServer, tempDir, type StaticServer } from '../harness/index.js';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { type GpgKey, type Upstream, buildDeb, buildUpstream, makeGpgKey, nativeArch, stopGpgAgent } from './upstream.js';
import { pack, sourceContext, unpack } from './pipeline.js';
import { nexusTarget, openNexus, publishContext } from '../nexus/support.js';

let dir: string;
let upstream: Upstream;
let server: StaticServer;
let key: GpgKey;
let arch: string;
let artifacts: Artifact[];
let store: ContentStore;

beforeAll(async () => {
  dir = await tempDir('airgap-apt-nexus-');
  arch = await nativeArch();
  key = await makeGpgKey(dir, 'upstream');
  upstream = await buildUpstream(dir, key, arch);
  server = await startStaticServer(upstream.root);
  const cache = join(dir, 'cache');
  artifacts = await pack({ url: server.url, suite: 'stable', architectures: [arch], keyring: key.keyring, packages: ['webapp', 'httpd-fallback'] }, sourceContext(cache, dir));
  store = new ContentStore(cache);
});

afterAll(async () => {
  await server?.close();
  if (key) await stopGpgAgent(key);
});

/** The services the real nexus target driver gives (endpoints from url + repositories, REST API, preflight). */
async function nexusServices(nexus: NexusDouble, extra: Partial<NexusTargetConfig> = {}) {
  const { opened, target, http } = await openNexus(nexus, { formats: ['apt'], target: nexusTarget(nexus, extra) });
  return publishContext(store, target, http, opened.services);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('apt → Nexus apt-hosted (test double, docs/reference/nexus-api.md §5)', () => {
  it('POSTs every .deb byte-identical to the repository root; a re-run sends nothing', async () => {
    const nexus = await startNexusDouble();
    try {
      const ctx = await nexusServices(nexus);
      expect(apt.publish.endpoint!.format(artifacts[0])).toBe('apt');
      const first = await unpack(artifacts, apt.publish.endpoint!, ctx);
      expect(Object.values(first.actions).filter((a) => a === 'pushed')).toHaveLength(artifacts.length);
      const posts = nexus.writes();
      expect(posts.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(artifacts.map(() => 'POST /repository/apt-hosted/ 201'));
      for (const a of artifacts) {
        const stored = await nexus.storage.read('apt-hosted', nexusAssetPath(a));
        expect(stored, nexusAssetPath(a)).toBeDefined();
        const original = await readFile(upstream.debs[`${a.name}_${a.version}_${a.platform}`]);
        expect(sha256(stored!)).toBe(sha256(original));
      }

      const again = await unpack(artifacts, apt.publish.endpoint!, ctx);
      expect(Object.values(again.actions).every((a) => a === 'present')).toBe(true);
      expect(nexus.writes()).toHaveLength(posts.length);

      // A redeploy that the write policy refuses counts as done only because the stored bytes are the same.
      await apt.publish.endpoint!.publish(artifacts[0], ctx);
      expect(nexus.writes().at(-1)?.status).toBe(400);
    } finally {
      await nexus.close();
    }
  });

  it('refuses to treat other content at the same path as present, and says so', async () => {
    const nexus = await startNexusDouble();
    try {
      const ctx = await nexusServices(nexus);
      // Another build of httpd-fallback 1 (same coordinates, different bytes) is already in the repository.
      const other = await buildDeb(join(dir, 'build-other'), join(dir, 'other'), { name: 'httpd-fallback', version: '1', arch, depends: 'something-else' });
      const res = await fetch(`${nexus.url}repository/apt-hosted/`, {
        method: 'POST', body: await readFile(other),
        headers: { authorization: 'Basic ' + Buffer.from(`${DEFAULT_USER.username}:${DEFAULT_USER.password}`).toString('base64') },
      });
      expect(res.status).toBe(201);
      const a = artifacts.find((x) => x.name === 'httpd-fallback')!;
      const err = await apt.publish.endpoint!.exists(a, ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetError);
      expect((err as Error).message).toContain(`apt-hosted/pool/h/httpd-fallback/httpd-fallback_1_${arch}.deb: already exists with a different checksum`);
      const err2 = await apt.publish.endpoint!.publish(a, ctx).catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(TargetError);
      expect((err2 as Error).message).toMatch(/already exists with a different checksum .* Nexus: apt-hosted\/pool\/h\/httpd-fallback\/.* cannot be updated/);
    } finally {
      await nexus.close();
    }
  });

  it('names the endpoint and status when Nexus refuses the upload', async () => {
    const nexus = await startNexusDouble({ users: [{ ...DEFAULT_USER, write: [] }] });
    try {
      const ctx = await nexusServices(nexus);
      const err = await apt.publish.endpoint!.publish(artifacts[0], ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetError);
      expect((err as Error).message).toMatch(/403/);
      expect((err as Error).message).toContain('apt-hosted');
    } finally {
      await nexus.close();
    }
  });
});
