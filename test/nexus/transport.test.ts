import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, TargetError } from '@airgap/core';
import { tempDir } from '../harness/index.js';
import { type NexusDouble, startNexusDouble } from '../nexus-double/index.js';
import { fastHttp, makeTestCa, nexusTarget, openNexus } from './support.js';

let double: NexusDouble | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await double?.close();
  double = undefined;
  while (cleanups.length) await cleanups.pop()!();
});

const status = (d: NexusDouble) => `${d.url}service/rest/v1/status`;

describe('HttpClient retries against the double (docs/design.md faults)', () => {
  it('retries 503s and then succeeds', async () => {
    double = await startNexusDouble();
    double.fail({ path: '/service/rest/v1/status', times: 2, status: 503 });
    const res = await fastHttp().request(status(double), { side: 'target' });
    expect(res.status).toBe(200);
    expect(double.requests.map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('retries a connection reset', async () => {
    double = await startNexusDouble();
    double.fail({ path: '/service/rest/v1/status', times: 1, reset: true });
    const res = await fastHttp().request(status(double), { side: 'target' });
    expect(res.status).toBe(200);
    expect(double.requests).toHaveLength(2);
  });

  it('retries a timeout', async () => {
    double = await startNexusDouble();
    double.fail({ path: '/service/rest/v1/status', times: 1, hang: true });
    // the hang is cut after the timeout; 1.5 s, so a loaded machine's stall cannot time out the answered retry too
    const res = await fastHttp({ timeoutMs: 1500 }).request(status(double), { side: 'target' });
    expect(res.status).toBe(200);
    expect(double.requests).toHaveLength(2);
  });

  it('never retries a 4xx', async () => {
    double = await startNexusDouble();
    double.fail({ path: '/service/rest/v1/status', times: 5, status: 404 });
    const res = await fastHttp().request(status(double), { side: 'target' });
    expect(res.status).toBe(404);
    expect(double.requests).toHaveLength(1);
  });
});

/** A plain forward proxy (absolute-form requests and CONNECT tunnels) that records what it carried. */
async function startForwardProxy(): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const up = httpRequest(req.url!, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  server.on('connection', (s) => sockets.add(s));
  server.on('connect', (req, client: Socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = req.url!.split(':');
    const up = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(client).pipe(up);
    });
    sockets.add(up);
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

function withEnv(vars: Record<string, string | undefined>): void {
  const old: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    old[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  cleanups.push(() => {
    for (const [k, v] of Object.entries(old)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
const cleared = () => Object.fromEntries(PROXY_VARS.map((k) => [k, undefined]));

describe('proxies from the environment (docs/config.md http.proxy: env)', () => {
  it('sends plain-HTTP requests through HTTP_PROXY', async () => {
    double = await startNexusDouble();
    const proxy = await startForwardProxy();
    withEnv({ ...cleared(), HTTP_PROXY: proxy.url });
    const res = await new HttpClient({ retries: 0 }).request(status(double), { side: 'target' });
    expect(res.status).toBe(200);
    // undici's proxy agent tunnels plain HTTP with CONNECT as well; either way the proxy carried it.
    expect(proxy.seen).toEqual([`CONNECT 127.0.0.1:${double.port}`]);
    expect(double.requests).toHaveLength(1);
  });

  it('tunnels HTTPS through HTTPS_PROXY with CONNECT, verifying the server with caFile', async () => {
    const dir = await tempDir('airgap-proxy-tls-');
    const ca = await makeTestCa(dir);
    double = await startNexusDouble({ tls: { key: ca.key, cert: ca.cert } });
    const proxy = await startForwardProxy();
    withEnv({ ...cleared(), HTTPS_PROXY: proxy.url });
    const res = await new HttpClient({ retries: 0, caFile: ca.caFile }).request(status(double), { side: 'target' });
    expect(res.status).toBe(200);
    expect(proxy.seen).toEqual([`CONNECT 127.0.0.1:${double.port}`]);
  });

  it('bypasses the proxy for hosts in NO_PROXY', async () => {
    double = await startNexusDouble();
    const proxy = await startForwardProxy();
    withEnv({ ...cleared(), HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
    const res = await new HttpClient({ retries: 0 }).request(status(double), { side: 'target' });
    expect(res.status).toBe(200);
    expect(proxy.seen).toEqual([]);
    expect(double.requests).toHaveLength(1);
  });
});

describe('TLS with an internal CA (http.caFile)', () => {
  it('refuses the double\'s certificate without caFile and trusts it with caFile', async () => {
    const dir = await tempDir('airgap-tls-');
    const ca = await makeTestCa(dir);
    double = await startNexusDouble({ tls: { key: ca.key, cert: ca.cert } });
    expect(double.url.startsWith('https://')).toBe(true);
    withEnv(cleared());
    const target = nexusTarget(double);
    const refused = await openNexus(double, { target, http: fastHttp({ retries: 0 }) }).then(() => undefined, (e: unknown) => e as TargetError);
    expect(refused).toBeInstanceOf(TargetError);
    expect(refused!.message).toContain(double.url);
    expect(refused!.hint).toMatch(/http\.caFile/);
    expect(double.requests).toEqual([]);
    const { opened } = await openNexus(double, { target, http: fastHttp({ retries: 0, caFile: ca.caFile }) });
    expect(opened.services.nexus).toBeDefined();
    expect(double.requests.map((r) => r.path)).toContain('/service/rest/v1/repositories');
  });
});
