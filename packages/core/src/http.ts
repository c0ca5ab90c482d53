import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { Dispatcher, EnvHttpProxyAgent, ProxyAgent } from 'undici';
import type { HttpSettings } from './config-types.js';
import { TargetError, UpstreamError, UsageError } from './errors.js';
import { type Logger, safeUrl, silentLogger } from './log.js';

export type Body = string | Buffer | Uint8Array | Readable | null;

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  /** A value, or a function that makes it anew for each attempt (a stream cannot be replayed). */
  body?: Body | (() => Body);
  /** Retry 5xx, 429, resets and timeouts with backoff (default true; 4xx are never retried). */
  retry?: boolean;
  /** Follow redirects (GET/HEAD only); `Authorization` is never forwarded to another host. Default true. */
  followRedirects?: boolean;
  /** Which side a network failure is blamed on: upstream → exit 1 UpstreamError, target → TargetError. */
  side?: 'upstream' | 'target';
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** The reason phrase: Nexus puts its error message there for format endpoints (docs/reference/nexus-api.md §11). */
  statusText?: string;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: string;
}

export function header(res: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

const RETRYABLE_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'EAI_AGAIN']);

/**
 * The one HTTP client of the project (undici). TLS verification is always on; `caFile` adds internal
 * CAs; proxies come from the environment (HTTPS_PROXY/HTTP_PROXY/NO_PROXY) unless `proxy` says otherwise.
 * Retries 5xx, 429 (honouring Retry-After), resets and timeouts with exponential backoff; never 4xx.
 */
export class HttpClient {
  readonly retries: number;
  // undici is imported on the first request, not with the module: a command that sends nothing
  // (verify, inspect, a dir: unpack) starts without it (start-up time: test/bench/startup.mjs).
  private dispatcher: Promise<Dispatcher> | undefined;
  private readonly makeDispatcher: () => Promise<Dispatcher>;
  private readonly log: Logger;
  /** Base delay of the backoff in ms (tests lower it). */
  backoffMs = 250;

  constructor(settings: HttpSettings = {}, log: Logger = silentLogger) {
    this.retries = settings.retries ?? 5;
    this.log = log;
    let ca: string | undefined;
    if (settings.caFile) {
      try {
        ca = readFileSync(settings.caFile, 'utf8');
      } catch (e) {
        throw new UsageError(`http.caFile: cannot read ${settings.caFile}`, { subject: settings.caFile, cause: e });
      }
    }
    const timeout = settings.timeoutMs ?? 60_000;
    // With a custom CA, keep the system roots too: a caFile adds trust, it does not replace it.
    const connect = ca ? { ca: [...tlsRootCertificates(), ca] } : {};
    const common = { headersTimeout: timeout, bodyTimeout: timeout, connectTimeout: Math.min(timeout, 30_000), connect };
    const proxy = settings.proxy ?? 'env';
    this.makeDispatcher = async () => {
      const u = await import('undici');
      if (proxy === 'none') return new u.Agent(common);
      if (proxy === 'env') return new u.EnvHttpProxyAgent({ ...common, requestTls: connect, proxyTls: connect } as ConstructorParameters<typeof EnvHttpProxyAgent>[0]);
      return new u.ProxyAgent({ uri: proxy, requestTls: connect, proxyTls: connect, ...common } as ConstructorParameters<typeof ProxyAgent>[0]);
    };
  }

  /**
   * Load undici and make the agent now, without sending anything, so that work overlaps something else
   * (unpack calls it while the parts are hashed). A failure here is the first request's to report.
   */
  warm(): void {
    this.dispatcher ??= this.makeDispatcher();
    this.dispatcher.catch(() => undefined);
  }

  async request(url: string | URL, init: HttpRequest = {}): Promise<HttpResponse> {
    const method = (init.method ?? 'GET').toUpperCase();
    const retry = init.retry ?? true;
    const follow = init.followRedirects ?? (method === 'GET' || method === 'HEAD');
    let current = new URL(String(url));
    let headers = { ...(init.headers ?? {}) };
    const origin = current.host;
    let redirects = 0;
    const { request } = await import('undici');
    this.dispatcher ??= this.makeDispatcher();
    const dispatcher = await this.dispatcher;
    for (let attempt = 0; ; attempt++) {
      let res: Dispatcher.ResponseData;
      try {
        const body = typeof init.body === 'function' ? init.body() : init.body;
        res = await request(current, {
          method: method as Dispatcher.HttpMethod,
          headers,
          body: body ?? undefined,
          dispatcher,
          signal: init.signal,
        });
      } catch (e) {
        const code = (e as { code?: string }).code ?? '';
        if (retry && attempt < this.retries && RETRYABLE_CODES.has(code)) {
          await this.wait(attempt, undefined, `${method} ${safeUrl(current)}: ${code}`);
          continue;
        }
        const Err = init.side === 'target' ? TargetError : UpstreamError;
        const what = code === 'ECONNREFUSED' ? 'connection refused' : (e as Error).message || code;
        throw new Err(`${method} ${safeUrl(current)}: ${what}`, {
          subject: safeUrl(current),
          hint: code === 'ECONNREFUSED' ? 'is the server running and the URL right?' : tlsHint(e),
          cause: e,
        });
      }
      const status = res.statusCode;
      if (follow && status >= 300 && status < 400 && res.headers.location && redirects < 10) {
        await res.body.dump();
        const next = new URL(String(res.headers.location), current);
        // Never forward Authorization to another host (distribution-spec §API, docs/reference/repo-formats.md §1).
        if (next.host !== origin) headers = dropAuthorization(headers);
        current = next;
        redirects++;
        attempt--;
        continue;
      }
      if (retry && attempt < this.retries && (status >= 500 || status === 429)) {
        await res.body.dump();
        await this.wait(attempt, header({ headers: res.headers }, 'retry-after'), `${method} ${safeUrl(current)}: HTTP ${status}`);
        continue;
      }
      return { status, statusText: res.statusText, headers: res.headers, body: res.body, url: current.toString() };
    }
  }

  async close(): Promise<void> {
    const d = this.dispatcher;
    this.dispatcher = undefined;
    if (d) await (await d).close();
  }

  /** The backoff before retry `attempt` (the transfer engine uses it between resumes of a cut download). */
  async pause(attempt: number): Promise<void> {
    await new Promise((r) => setTimeout(r, Math.min(this.backoffMs * 2 ** attempt, 30_000) * (0.75 + Math.random() * 0.5)));
  }

  private async wait(attempt: number, retryAfter: string | undefined, why: string): Promise<void> {
    let ms = Math.min(this.backoffMs * 2 ** attempt, 30_000) * (0.75 + Math.random() * 0.5);
    if (retryAfter) {
      const secs = Number(retryAfter);
      const at = Date.parse(retryAfter);
      if (Number.isFinite(secs)) ms = secs * 1000;
      else if (Number.isFinite(at)) ms = Math.max(0, at - Date.now());
      ms = Math.min(ms, 120_000);
    }
    this.log.debug(`${why}; retrying in ${Math.round(ms)} ms`);
    await new Promise((r) => setTimeout(r, ms));
  }
}

function dropAuthorization(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([k]) => k.toLowerCase() !== 'authorization'));
}

function tlsHint(e: unknown): string | undefined {
  const code = String((e as { code?: string }).code ?? (e as Error).message ?? '');
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|certificate/i.test(code)) return 'the server certificate is not trusted: set http.caFile to your internal CA bundle';
  return undefined;
}

/** Node's bundled Mozilla roots, kept when a caFile is added. */
function tlsRootCertificates(): string[] {
  return [...rootCertificates];
}

/** Throw the right error for a non-2xx answer, naming the URL and status. */
export async function failStatus(res: Pick<HttpResponse, 'status' | 'url'> & { body: { text(): Promise<string> } }, method: string, side: 'upstream' | 'target', hint?: string): Promise<never> {
  let text = '';
  try {
    text = (await res.body.text()).slice(0, 500).trim();
  } catch {
    /* body already consumed or broken: the status says enough */
  }
  const Err = side === 'target' ? TargetError : UpstreamError;
  throw new Err(`${method} ${safeUrl(res.url)}: HTTP ${res.status}${text ? ` — ${text.replace(/\s+/g, ' ')}` : ''}`, { subject: safeUrl(res.url), hint });
}
