/**
 * Reverse proxies for the OCI tests: a recording/tampering proxy in front of a registry (it counts and
 * can rewrite what passes), and a forward proxy (HTTP_PROXY) that records the hosts a client asked for.
 */
import { createServer, request as httpRequest } from 'node:http';
import { type LocalAnswer, type ProxiedRequest, startGaugeProxy } from '../harness/gauge-proxy.js';
import { closeServer, listen } from './loopback.js';

export type ProxyRequest = ProxiedRequest;

export interface RecordingProxy {
  host: string;
  requests: ProxyRequest[];
  /** Blob digests whose bytes the proxy corrupts on GET (one byte flipped, same length). */
  tamper: Set<string>;
  /** Blob digests whose GET is answered with a 307 to another URL (as registries on object storage do). */
  redirect: Map<string, string>;
  /** Answer every manifest HEAD with this status (Nexus 3.96.0 answered them with 500). */
  manifestHeadStatus: number | undefined;
  /** Answer the next N requests matching with 429 + Retry-After: 0 before passing them on. */
  throttle: { pattern: RegExp; times: number } | undefined;
  stop(): Promise<void>;
}

/**
 * A reverse proxy in front of a registry on another port: the tests' one recording proxy
 * (test/harness/gauge-proxy.ts) with the registry rules above. The Host header is passed on unchanged, so
 * the registry's absolute `Location` URLs point back at the proxy and every request is seen here.
 */
export async function startRecordingProxy(backendHost: string): Promise<RecordingProxy> {
  const tamper = new Set<string>();
  const redirect = new Map<string, string>();
  const state: { throttle: RecordingProxy['throttle']; manifestHeadStatus: number | undefined } = { throttle: undefined, manifestHeadStatus: undefined };
  const blobOf = (path: string) => /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(path)?.[1];
  const proxy = await startGaugeProxy(`http://${backendHost}/`, {
    intercept: ({ method, url, path }): LocalAnswer | undefined => {
      const t = state.throttle;
      if (t && t.times > 0 && t.pattern.test(url)) {
        t.times--;
        return { status: 429, headers: { 'retry-after': '0', 'content-type': 'application/json' }, body: '{"errors":[{"code":"TOOMANYREQUESTS"}]}' };
      }
      if (method === 'HEAD' && state.manifestHeadStatus && path.includes('/manifests/')) return { status: state.manifestHeadStatus };
      const blob = blobOf(path);
      if (method === 'GET' && blob && redirect.has(blob)) return { status: 307, headers: { location: redirect.get(blob)! } };
      return undefined;
    },
    tamper: (path) => tamper.has(blobOf(path) ?? ''),
  });
  return {
    host: proxy.host,
    requests: proxy.requests,
    tamper,
    redirect,
    get manifestHeadStatus() {
      return state.manifestHeadStatus;
    },
    set manifestHeadStatus(v) {
      state.manifestHeadStatus = v;
    },
    get throttle() {
      return state.throttle;
    },
    set throttle(v) {
      state.throttle = v;
    },
    stop: () => proxy.stop(),
  };
}

export interface ForwardProxy {
  url: string;
  /** `CONNECT host:port` tunnels and absolute-URI requests seen, in order. */
  seen: string[];
  stop(): Promise<void>;
}

/** An HTTP forward proxy (CONNECT tunnels and absolute-URI requests), as `http.proxy` points at. */
export async function startForwardProxy(): Promise<ForwardProxy> {
  const seen: string[] = [];
  const { connect } = await import('node:net');
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const u = new URL(req.url ?? '');
    const up = httpRequest({ host: u.hostname, port: Number(u.port || 80), method: req.method, path: u.pathname + u.search, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', (e) => res.writeHead(502).end(String(e)));
    req.pipe(up);
  });
  server.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const up = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, seen, stop: () => closeServer(server) };
}
