import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetError, UpstreamError, UsageError } from '@airgap/core';
import { images } from '@airgap/oci';
import { startStaticServer, tempDir } from '../harness/index.js';
import {
  type Registry, type TokenServer, buildFixtureLayout, inspectRaw, makeTlsCert, skopeoCopy, startForwardProxy, startRecordingProxy, startRegistry,
  startTokenServer,
} from './registry-fixtures.js';
import { publishContext, pull, push, registryTarget, sourceContext } from './contexts.js';

let work: string;
let layout: string;
let basic: Registry;
let tokenReg: Registry;
let tokens: TokenServer;
const USER = 'mirror';
const PASS = 'pa55-' + Math.random().toString(36).slice(2);

beforeAll(async () => {
  work = await tempDir('airgap-oci-auth-');
  layout = await buildFixtureLayout(join(work, 'fixture'));
  basic = await startRegistry(join(work, 'basic'), { type: 'htpasswd', user: USER, password: PASS });
  tokens = await startTokenServer(join(work, 'tokens'), { user: USER, password: PASS });
  tokenReg = await startRegistry(join(work, 'token-reg'), { type: 'token', realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, certFile: tokens.certFile });
  await skopeoCopy(`oci:${layout}:multi`, `docker://${basic.host}/team/multi:1`, ['--all', `--dest-creds=${USER}:${PASS}`]);
  await skopeoCopy(`oci:${layout}:amd64`, `docker://${tokenReg.host}/team/one:1`, [`--dest-creds=${USER}:${PASS}`]);
  process.env.OCI_TEST_USER = USER;
  process.env.OCI_TEST_PASS = PASS;
});

afterAll(async () => {
  await basic?.stop();
  await tokenReg?.stop();
  await tokens?.stop();
  delete process.env.OCI_TEST_USER;
  delete process.env.OCI_TEST_PASS;
});

const creds = (host: string) => ({ registries: { [host]: { usernameEnv: 'OCI_TEST_USER', passwordEnv: 'OCI_TEST_PASS' } } });

describe('images: registry auth', () => {
  it('pulls from an htpasswd (Basic) registry with credentials named in registries.<host>', async () => {
    const ctx = sourceContext(join(work, 's1'), creds(basic.host));
    const [a] = await pull(images, { ref: `${basic.host}/team/multi:1` }, ctx);
    expect(a.digest).toBe((await inspectRaw(`docker://${basic.host}/team/multi:1`, [`--creds=${USER}:${PASS}`])).digest);
  });

  it('without credentials fails with exit 1 and says which config entry to set', async () => {
    const ctx = sourceContext(join(work, 's2'));
    const err = await images.source.resolve({ ref: `${basic.host}/team/multi:1` }, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.message).toContain('HTTP 401');
    expect(err.hint).toContain(`registries."${basic.host}"`);
  });

  it('a credential variable that is not set is a usage error naming it', async () => {
    const ctx = sourceContext(join(work, 's3'), { registries: { [basic.host]: { usernameEnv: 'OCI_TEST_USER', passwordEnv: 'OCI_TEST_UNSET_PASSWORD' } } });
    const err = await images.source.resolve({ ref: `${basic.host}/team/multi:1` }, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('OCI_TEST_UNSET_PASSWORD');
  });

  it('pushes to an htpasswd registry target; a wrong password fails without printing it', async () => {
    const ctx = sourceContext(join(work, 's4'), creds(basic.host));
    const arts = await pull(images, { ref: `${basic.host}/team/multi:1` }, ctx);
    const target = registryTarget(basic.host, { imageNames: 'strip-host', usernameEnv: 'U', passwordEnv: 'P' });
    const good = publishContext(ctx.store, target, {}, { U: USER, P: PASS });
    await push(images.publish.endpoint!, arts.map((a) => ({ ...a, meta: { ...a.meta, repository: 'copy/multi' } })), good);
    expect((await inspectRaw(`docker://${basic.host}/copy/multi:1`, [`--creds=${USER}:${PASS}`])).digest).toBe(arts[0].digest);

    const bad = publishContext(ctx.store, registryTarget(basic.host, { usernameEnv: 'U', passwordEnv: 'P' }), {}, { U: USER, P: 'wrong-secret-value' });
    const err = await images.publish.endpoint!.exists(arts[0], bad).catch((e) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect(err.message).toContain('401');
    expect(`${err.message} ${err.hint}`).not.toContain('wrong-secret-value');
  });

  it('pulls and pushes through the Bearer token flow, one token per scope, fetched anew when it expires', async () => {
    const ctx = sourceContext(join(work, 's5'), creds(tokenReg.host));
    // skopeo (the independent check) gets long-lived tokens: on a loaded machine a 1 s token can expire
    // between its fetch and skopeo's next request, which skopeo does not retry.
    const upstream = (await inspectRaw(`docker://${tokenReg.host}/team/one:1`, [`--creds=${USER}:${PASS}`])).digest;
    tokens.expiresIn = 1;
    const before = tokens.requests.length;
    const [a] = await pull(images, { ref: `${tokenReg.host}/team/one:1` }, ctx);
    // Tokens are asked for per scope with the configured credentials (and cached: far fewer than requests).
    const asked = tokens.requests.slice(before);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((r) => r.scope === 'repository:team/one:pull' && r.basic)).toBe(true);
    expect(a.digest).toBe(upstream);
    const pullTokens = tokens.requests.filter((r) => r.scope === 'repository:team/one:pull').length;
    // Tokens live 1 s here: after that the next request must fetch a new one instead of failing with 401.
    await new Promise((r) => setTimeout(r, 1100));
    const again = await images.source.resolve({ ref: `${tokenReg.host}/team/one:1` }, ctx);
    expect(again[0].digest).toBe(a.digest);
    expect(tokens.requests.filter((r) => r.scope === 'repository:team/one:pull').length).toBeGreaterThan(pullTokens);
    tokens.expiresIn = 300;

    const pctx = publishContext(ctx.store, registryTarget(tokenReg.host, { imageNames: 'strip-host', usernameEnv: 'U', passwordEnv: 'P' }), {}, { U: USER, P: PASS });
    await push(images.publish.endpoint!, [{ ...a, meta: { ...a.meta, repository: 'pushed/one' } }], pctx);
    expect(tokens.requests.some((r) => r.scope === 'repository:pushed/one:pull,push')).toBe(true);
    expect((await inspectRaw(`docker://${tokenReg.host}/pushed/one:1`, [`--creds=${USER}:${PASS}`])).digest).toBe(a.digest);
  });

  it('a token server refusing the credentials fails with exit 1 naming the token URL', async () => {
    process.env.OCI_TEST_BAD = 'not-the-password';
    const ctx = sourceContext(join(work, 's6'), { registries: { [tokenReg.host]: { usernameEnv: 'OCI_TEST_USER', passwordEnv: 'OCI_TEST_BAD' } } });
    const err = await images.source.resolve({ ref: `${tokenReg.host}/team/one:1` }, ctx).catch((e) => e);
    delete process.env.OCI_TEST_BAD;
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.message).toContain(tokens.realm);
    expect(err.message).toContain('401');
    expect(err.message).not.toContain('not-the-password');
  });

  it('follows a blob redirect to another host without sending it the Authorization header', async () => {
    const proxy = await startRecordingProxy(basic.host);
    // The registry's own blob files, served by a plain static server on another port (another host).
    const blobs = await startStaticServer(join(work, 'basic', 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256'));
    try {
      const ctx = sourceContext(join(work, 's7'), creds(proxy.host));
      const [a] = await images.source.resolve({ ref: `${proxy.host}/team/multi:1` }, ctx);
      const layers = a.blobs.filter((b) => b.mediaType.includes('layer'));
      for (const l of layers) proxy.redirect.set(l.digest, `${blobs.url}${l.digest.slice(7, 9)}/${l.digest.slice(7)}/data`);
      await images.source.fetch(a, ctx);
      for (const b of a.blobs) expect(await ctx.store.has(b.digest)).toBe(true);
      expect(blobs.requests.map((r) => r.path).sort()).toEqual(layers.map((l) => `/${l.digest.slice(7, 9)}/${l.digest.slice(7)}/data`).sort());
      expect(blobs.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
    } finally {
      await blobs.close();
      await proxy.stop();
    }
  });
});

describe('images: TLS registries and http.caFile', () => {
  let tlsReg: Registry;
  let caFile: string;
  beforeAll(async () => {
    const tls = await makeTlsCert(join(work, 'tls'));
    caFile = tls.cert;
    tlsReg = await startRegistry(join(work, 'tls-reg'), undefined, tls);
    await skopeoCopy(`oci:${layout}:amd64`, `docker://${tlsReg.host}/team/one:1`);
  });
  afterAll(async () => {
    await tlsReg?.stop();
  });

  it('an untrusted certificate fails with exit 1 and points at http.caFile (no fallback to plain HTTP)', async () => {
    const ctx = sourceContext(join(work, 't1'));
    const err = await images.source.resolve({ ref: `${tlsReg.host}/team/one:1` }, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.message).toContain(`https://${tlsReg.host}/v2/`);
    expect(err.hint).toContain('http.caFile');
  });

  it('with http.caFile pulls over HTTPS from a loopback registry and pushes to an https:// endpoint', async () => {
    const config = { http: { caFile } };
    const ctx = sourceContext(join(work, 't2'), config);
    const [a] = await pull(images, { ref: `${tlsReg.host}/team/one:1` }, ctx);
    expect(a.upstream.url.startsWith(`https://${tlsReg.host}/v2/team/one/manifests/1`)).toBe(true);
    const target = { type: 'registries' as const, name: 'tls', config: { type: 'registries' as const, endpoints: { docker: `https://${tlsReg.host}/` }, imageNames: 'strip-host' as const } };
    const pctx = publishContext(ctx.store, target, config);
    await push(images.publish.endpoint!, [{ ...a, meta: { ...a.meta, repository: 'copy/one' } }], pctx);
    expect((await inspectRaw(`docker://${tlsReg.host}/copy/one:1`)).digest).toBe(a.digest);
  });
});

describe('images: through an HTTP proxy (http.proxy)', () => {
  it('pulls through the configured proxy', async () => {
    const proxy = await startForwardProxy();
    try {
      const ctx = sourceContext(join(work, 'p1'), { ...creds(basic.host), http: { proxy: proxy.url } });
      const [a] = await pull(images, { ref: `${basic.host}/team/multi:1` }, ctx);
      for (const b of a.blobs) expect(await ctx.store.has(b.digest)).toBe(true);
      expect(proxy.seen.some((s) => s.includes(basic.host))).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});
