import { withTransfer } from '../harness/index.js';
/**
 * Images into a `nexus` target: the target's REST preflight is answered by the Nexus test double
 * (test/nexus-double, which follows docs/reference/nexus-api.md); its Docker connector port
 * (`endpoints.docker`) is a real docker-registry with htpasswd holding the Nexus user's credentials,
 * since a connector port speaks the plain registry protocol (docs/reference/nexus-api.md §3).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ResolvedTarget, silentLogger } from '@airgap/core';
import { nexusDriver } from '@airgap/nexus';
import { images } from '@airgap/oci';
import { tempDir } from '../harness/index.js';
import { DEFAULT_USER, type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { type RecordingProxy, type Registry, buildFixtureLayout, inspectRaw, skopeoCopy, startRecordingProxy, startRegistry } from './registry-fixtures.js';
import { pull, push, sourceContext } from './contexts.js';

let work: string;
let src: Registry;
let connector: Registry;
let connectorProxy: RecordingProxy;
let nexus: NexusDouble;

beforeAll(async () => {
  work = await tempDir('airgap-oci-nexus-');
  const layout = await buildFixtureLayout(join(work, 'fixture'));
  src = await startRegistry(join(work, 'src'));
  connector = await startRegistry(join(work, 'connector'), { type: 'htpasswd', user: DEFAULT_USER.username, password: DEFAULT_USER.password });
  connectorProxy = await startRecordingProxy(connector.host);
  nexus = await startNexusDouble();
  await skopeoCopy(`oci:${layout}:multi`, `docker://${src.host}/team/multi:1`, ['--all']);
});

afterAll(async () => {
  await nexus?.close();
  await connectorProxy?.stop();
  await connector?.stop();
  await src?.stop();
});

describe('images into a nexus target through its docker endpoint', () => {
  it('preflight, push with the Nexus user, same digests; a re-run is present without uploads', async () => {
    const ctx = sourceContext(join(work, 'store'));
    const arts = await pull(images, { ref: `${src.host}/team/multi:1` }, ctx);
    const config = {
      type: 'nexus' as const, url: nexus.url, usernameEnv: 'NX_USER', passwordEnv: 'NX_PASS',
      repositories: { docker: 'docker-hosted' }, endpoints: { docker: `http://${connectorProxy.host}/` },
    };
    const target: ResolvedTarget = { type: 'nexus', name: 'nexus', config };
    const env = { NX_USER: DEFAULT_USER.username, NX_PASS: DEFAULT_USER.password };
    const opened = await nexusDriver.open(target, { http: ctx.http, config: { targets: { nexus: config } }, log: silentLogger, formats: new Set(['docker']), dryRun: false, env });
    const pctx = withTransfer({
      target, http: ctx.http, services: opened.services, config: {}, log: silentLogger, progress: () => {}, dryRun: false,
      bundle: { name: 'test', created: new Date().toISOString() }, blobs: { open: (d: { digest: string }) => ctx.store.open(d.digest) },
    });
    expect(images.publish.endpoint!.format(arts[0])).toBe('docker');
    expect(await push(images.publish.endpoint!, arts, pctx)).toEqual(['pushed']);
    const hostSeg = `127.0.0.1_${src.host.split(':')[1]}`;
    const creds = `--creds=${DEFAULT_USER.username}:${DEFAULT_USER.password}`;
    expect((await inspectRaw(`docker://${connector.host}/${hostSeg}/team/multi:1`, [creds])).digest).toBe((await inspectRaw(`docker://${src.host}/team/multi:1`)).digest);
    // No cross-repo mount is ever asked for (Nexus lacks it): uploads are POST then PUT.
    expect(connectorProxy.requests.filter((r) => r.path.includes('mount='))).toEqual([]);
    const mark = connectorProxy.requests.length;
    expect(await push(images.publish.endpoint!, arts, pctx)).toEqual(['present']);
    expect(connectorProxy.requests.slice(mark).filter((r) => r.method === 'PUT' || r.method === 'POST')).toEqual([]);
  });
});
