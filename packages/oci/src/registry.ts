import type { Readable } from 'node:stream';
import {
  type Descriptor, type HttpClient, type HttpResponse, type Logger, IntegrityError, TargetError, UpstreamError, UsageError,
  failStatus, header, redact, safeUrl, sha256Digest, silentLogger,
} from '@airgap/core';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES } from './media.js';
import { isLoopbackHost } from './reference.js';

export interface RegistryCredentials {
  /** `Authorization` value for Basic auth (to the registry, or to its token realm). */
  basic?: string;
  /** A registry token sent as `Authorization: Bearer` as is (tokenEnv). */
  token?: string;
  /** Secret values to scrub from messages. */
  secrets?: string[];
}

export interface RegistryClientOptions {
  /** API base: `https://host[:port]/` or a path prefix such as Nexus's `/repository/<repo>/`; `v2/` is appended. */
  base: string;
  /**
   * Plain-HTTP base to fall back to when `base` (HTTPS) does not speak TLS at all: Docker's rule for
   * loopback registries (HTTPS first, then HTTP). A certificate problem is never a reason to fall back.
   */
  plainFallback?: string;
  http: HttpClient;
  credentials?: RegistryCredentials;
  /** Which side failures are blamed on (exit 1 either way, the error type names the side). */
  side: 'upstream' | 'target';
  /** Hosts (`host:port`) marked `plainHttp` in config; a token realm on plain HTTP must be one of them or loopback. */
  plainHttpHosts?: Set<string>;
  log?: Logger;
}

interface Token {
  value: string;
  refreshAt: number;
}

interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

export type Access = 'pull' | 'pull,push';

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string | undefined;
  digest: string;
  url: string;
}

/**
 * A Docker Registry HTTP API v2 / OCI distribution client on core's HttpClient (undici), which already
 * retries 5xx/429 (Retry-After) and resets, and drops Authorization on cross-host redirects (blob
 * redirects to object storage). This adds the auth of distribution's token spec: a `/v2/` probe, Basic,
 * and Bearer tokens per scope, cached and fetched anew before they expire so long transfers keep working.
 */
export class RegistryClient {
  base: URL;
  private plainFallback?: URL;
  private readonly http: HttpClient;
  private readonly creds: RegistryCredentials;
  readonly side: 'upstream' | 'target';
  private readonly plainHttpHosts: Set<string>;
  private readonly log: Logger;
  private challenge: Challenge | null | undefined;
  private probing?: Promise<void>;
  private readonly tokens = new Map<string, Token>();
  private readonly pendingTokens = new Map<string, Promise<Token>>();

  constructor(opts: RegistryClientOptions) {
    this.base = new URL(opts.base.endsWith('/') ? opts.base : opts.base + '/');
    if (opts.plainFallback) this.plainFallback = new URL(opts.plainFallback.endsWith('/') ? opts.plainFallback : opts.plainFallback + '/');
    this.http = opts.http;
    this.creds = opts.credentials ?? {};
    this.side = opts.side;
    this.plainHttpHosts = opts.plainHttpHosts ?? new Set();
    this.log = opts.log ?? silentLogger;
  }

  /** Secret values to scrub from messages. */
  secrets(): string[] {
    const basic = this.creds.basic?.replace(/^Basic /, '');
    const out = [...(this.creds.secrets ?? []), basic, this.creds.token, ...[...this.tokens.values()].map((t) => t.value)];
    return out.filter((s): s is string => Boolean(s));
  }

  url(path: string): URL {
    return new URL('v2/' + path, this.base);
  }

  private fail(message: string, subject: string, hint?: string, cause?: unknown): never {
    const Err = this.side === 'target' ? TargetError : UpstreamError;
    throw new Err(redact(message, this.secrets()), { subject, hint, cause });
  }

  /** `GET /v2/`: learns whether the registry wants Basic or Bearer auth (distribution auth spec). */
  async probe(): Promise<void> {
    if (this.challenge !== undefined) return;
    this.probing ??= (async () => {
      let url = this.url('');
      let res: HttpResponse;
      try {
        res = await this.http.request(url, { side: this.side, retry: !this.plainFallback });
      } catch (e) {
        const code = String(((e as Error).cause as { code?: string } | undefined)?.code ?? '');
        if (!this.plainFallback || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ECONNREFUSED/.test(code)) throw e;
        this.log.debug(`${safeUrl(url)} does not speak TLS (${code || (e as Error).message}); using plain HTTP (loopback)`);
        this.base = this.plainFallback;
        url = this.url('');
        res = await this.http.request(url, { side: this.side });
      }
      await res.body.dump();
      if (res.status === 200) this.challenge = null;
      else if (res.status === 401) this.challenge = parseChallenge(header(res, 'www-authenticate')) ?? null;
      else if (res.status === 404) {
        this.fail(`GET ${safeUrl(url)}: HTTP 404 — not a Docker/OCI registry API`, safeUrl(url), 'check the registry host or the endpoint URL (it must serve /v2/)');
      } else this.challenge = null; // Some registries answer /v2/ oddly; the real requests will tell.
    })();
    try {
      await this.probing;
    } catch (e) {
      this.probing = undefined; // a later request may probe again
      throw e;
    }
  }

  private async authorization(scope: string, force = false): Promise<string | undefined> {
    const c = this.challenge;
    if (this.creds.token) return `Bearer ${this.creds.token}`;
    if (!c) return this.basic();
    if (c.scheme === 'basic') return this.basic();
    const token = await this.token(c, scope, force);
    return token ? `Bearer ${token.value}` : undefined;
  }

  private basic(): string | undefined {
    return this.creds.basic;
  }

  private async token(c: Challenge, scope: string, force: boolean): Promise<Token | undefined> {
    const key = `${c.params.realm}|${c.params.service ?? ''}|${scope}`;
    const have = this.tokens.get(key);
    if (have && !force && Date.now() < have.refreshAt) return have;
    let pending = this.pendingTokens.get(key);
    if (!pending) {
      pending = this.fetchToken(c, scope).finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, pending);
    }
    const t = await pending;
    this.tokens.set(key, t);
    return t;
  }

  private async fetchToken(c: Challenge, scope: string): Promise<Token> {
    const realm = c.params.realm;
    if (!realm) this.fail(`${safeUrl(this.base)}: Bearer challenge without realm`, safeUrl(this.base));
    let url: URL;
    try {
      url = new URL(realm);
    } catch (e) {
      return this.fail(`${safeUrl(this.base)}: Bearer realm ${JSON.stringify(realm)} is not a URL`, safeUrl(this.base), undefined, e);
    }
    if (url.protocol === 'http:' && !isLoopbackHost(url.host) && !this.plainHttpHosts.has(url.host)) {
      this.fail(`token realm ${safeUrl(url)} is plain HTTP`, safeUrl(url), `credentials are only sent over HTTPS; mark registries."${url.host}".plainHttp: true if that host is trusted (docs/config.md)`);
    }
    if (c.params.service) url.searchParams.set('service', c.params.service);
    if (scope) url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    const basic = this.basic();
    if (basic) headers.authorization = basic;
    const started = Date.now();
    const res = await this.http.request(url, { headers, side: this.side });
    if (res.status === 401 || res.status === 403) {
      await res.body.dump();
      this.fail(`token request ${safeUrl(url)}: HTTP ${res.status}`, safeUrl(url), this.credentialsHint());
    }
    if (res.status !== 200) await failStatus(res, 'GET', this.side);
    let doc: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      doc = (await res.body.json()) as typeof doc;
    } catch (e) {
      return this.fail(`token response from ${safeUrl(url)} is not JSON`, safeUrl(url), undefined, e);
    }
    const value = doc.token ?? doc.access_token;
    if (!value) this.fail(`token response from ${safeUrl(url)} holds no token`, safeUrl(url));
    // expires_in defaults to 60 s (token spec); refresh at 80% of the lifetime so a token never runs out
    // between two requests of a long transfer.
    const lifetime = Math.max(1, Number(doc.expires_in) || 60) * 1000;
    return { value: value!, refreshAt: started + lifetime * 0.8 };
  }

  private credentialsHint(): string {
    const host = this.base.host;
    return this.side === 'target'
      ? `check the target's usernameEnv/passwordEnv for ${host}`
      : `set registries."${host}".usernameEnv/passwordEnv (or tokenEnv) in the config, and export those variables`;
  }

  /**
   * One request with auth for `repository:<repo>:<access>`. On a 401 the challenge is read again (a
   * registry can ask for a different scope, or a token expired early) and the request is repeated once.
   */
  async request(repo: string, path: string, init: {
    method?: string; headers?: Record<string, string>; access?: Access; body?: () => Readable | Buffer | null; retry?: boolean; followRedirects?: boolean; absolute?: URL;
  } = {}): Promise<HttpResponse> {
    await this.probe();
    const scope = `repository:${repo}:${init.access ?? 'pull'}`;
    const url = init.absolute ?? this.url(path);
    for (let attempt = 0; ; attempt++) {
      const auth = await this.authorization(scope, attempt > 0);
      const headers = { ...(init.headers ?? {}) };
      if (auth) headers.authorization = auth;
      const res = await this.http.request(url, {
        method: init.method, headers, body: init.body, side: this.side, retry: init.retry, followRedirects: init.followRedirects,
      });
      if (res.status === 401 && attempt === 0 && !this.creds.token) {
        const c = parseChallenge(header(res, 'www-authenticate'));
        await res.body.dump();
        if (c) {
          this.challenge = c;
          if (c.scheme === 'bearer' && c.params.scope) return this.requestWithScope(url, init, c.params.scope);
          continue;
        }
      }
      if (res.status === 401 || res.status === 403) {
        await res.body.dump();
        this.fail(`${init.method ?? 'GET'} ${safeUrl(url)}: HTTP ${res.status} (${scope})`, safeUrl(url), this.credentialsHint());
      }
      return res;
    }
  }

  private async requestWithScope(url: URL, init: Parameters<RegistryClient['request']>[2] & {}, scope: string): Promise<HttpResponse> {
    const auth = await this.authorization(scope, true);
    const headers = { ...(init.headers ?? {}) };
    if (auth) headers.authorization = auth;
    const res = await this.http.request(url, { method: init.method, headers, body: init.body, side: this.side, retry: init.retry, followRedirects: init.followRedirects });
    if (res.status === 401 || res.status === 403) {
      await res.body.dump();
      this.fail(`${init.method ?? 'GET'} ${safeUrl(url)}: HTTP ${res.status} (${scope})`, safeUrl(url), this.credentialsHint());
    }
    return res;
  }

  /**
   * GET a manifest by tag or digest. The digest is computed over the raw bytes (the
   * Docker-Content-Digest header is optional, docs/reference/repo-formats.md §1); by digest it must match.
   */
  async getManifest(repo: string, reference: string, label: string): Promise<FetchedManifest | undefined> {
    const res = await this.request(repo, `${repo}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
    if (res.status === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.status !== 200) await failStatus(res, 'GET', this.side);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > MAX_MANIFEST_BYTES) {
        res.body.destroy();
        this.fail(`${label}: manifest ${reference} is larger than ${MAX_MANIFEST_BYTES} bytes`, safeUrl(res.url));
      }
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    const digest = sha256Digest(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new IntegrityError(`${label}: registry served manifest ${digest} for ${reference}`, {
        subject: `${label} ${reference}`,
        hint: 'the registry served different bytes than the digest names; do not trust this source until it is explained',
      });
    }
    return { bytes, mediaType: header(res, 'content-type')?.split(';')[0].trim(), digest, url: safeUrl(res.url) };
  }

  /**
   * HEAD a manifest: its digest (Docker-Content-Digest) and type, or undefined when absent. Some Nexus
   * versions fail manifest HEADs with a 5xx (docs/reference/nexus-api.md §3), so a failing HEAD falls back to a GET
   * whose bytes are hashed.
   */
  async headManifest(repo: string, reference: string): Promise<{ digest?: string; mediaType?: string } | undefined> {
    const res = await this.request(repo, `${repo}/manifests/${reference}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT }, retry: false });
    await res.body.dump();
    if (res.status === 404) return undefined;
    if (res.status === 200) return { digest: header(res, 'docker-content-digest'), mediaType: header(res, 'content-type') };
    if (res.status === 405 || res.status >= 500) {
      this.log.debug(`HEAD ${safeUrl(res.url)}: HTTP ${res.status}; asking with GET instead`);
      const m = await this.getManifest(repo, reference, `${repo}:${reference}`);
      return m && { digest: m.digest, mediaType: m.mediaType };
    }
    return failStatus(res, 'HEAD', this.side);
  }

  /** The digest a tag points to: HEAD, or GET and hash when the registry gives no Docker-Content-Digest. */
  async resolveTag(repo: string, tag: string, label: string): Promise<string | undefined> {
    const head = await this.headManifest(repo, tag);
    if (!head) return undefined;
    if (head.digest && /^sha256:[a-f0-9]{64}$/.test(head.digest)) return head.digest;
    return (await this.getManifest(repo, tag, label))?.digest;
  }

  /** GET a blob (redirects followed; Authorization is not sent to another host). */
  async getBlob(repo: string, digest: string): Promise<HttpResponse> {
    const res = await this.request(repo, `${repo}/blobs/${digest}`);
    if (res.status !== 200) await failStatus(res, 'GET', this.side, res.status === 404 ? 'the registry does not have a blob its manifest names' : undefined);
    return res;
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const res = await this.request(repo, `${repo}/blobs/${digest}`, { method: 'HEAD', access: this.side === 'target' ? 'pull,push' : 'pull' });
    await res.body.dump();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return failStatus(res, 'HEAD', this.side);
  }

  /**
   * Monolithic upload: `POST /blobs/uploads/` → 202 + Location (kept with its query) → `PUT Location&digest=`
   * → 201. No cross-repo mount: Nexus does not support it (docs/reference/nexus-api.md §3). A failed attempt starts a
   * new upload session, since a half-written session cannot be resumed by a monolithic PUT.
   */
  async pushBlob(repo: string, blob: Descriptor, open: () => Readable, attempts = 3): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const post = await this.request(repo, `${repo}/blobs/uploads/`, { method: 'POST', access: 'pull,push', headers: { 'content-length': '0' }, followRedirects: false });
        if (post.status !== 202) await failStatus(post, 'POST', this.side);
        await post.body.dump();
        const location = header(post, 'location');
        if (!location) this.fail(`POST ${safeUrl(post.url)}: 202 without Location`, safeUrl(post.url));
        const put = new URL(location!, post.url);
        put.searchParams.set('digest', blob.digest);
        const res = await this.request(repo, '', {
          method: 'PUT', absolute: put, access: 'pull,push', retry: false, followRedirects: false,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
          body: open,
        });
        // The registry's error document names the cause (BLOB_UPLOAD_INVALID, DIGEST_INVALID…): read on failure.
        if (res.status !== 201 && res.status !== 204) await failStatus(res, 'PUT', this.side);
        await res.body.dump().catch(() => undefined);
        const got = header(res, 'docker-content-digest');
        if (got && got !== blob.digest) this.fail(`PUT blob ${blob.digest} to ${safeUrl(this.url(repo))}: registry stored ${got}`, blob.digest);
        return;
      } catch (e) {
        if (attempt >= attempts || e instanceof IntegrityError || e instanceof UsageError) throw e;
        this.log.debug(`upload of ${blob.digest} to ${repo} failed (${(e as Error).message}); starting a new upload session`);
      }
    }
  }

  /** PUT a manifest with Content-Type = its mediaType, byte-for-byte; checks the digest the registry reports. */
  async putManifest(repo: string, reference: string, desc: Descriptor, open: () => Readable): Promise<void> {
    const res = await this.request(repo, `${repo}/manifests/${reference}`, {
      method: 'PUT', access: 'pull,push', followRedirects: false,
      headers: { 'content-type': desc.mediaType, 'content-length': String(desc.size) },
      body: open,
    });
    // On failure the registry's error document (MANIFEST_BLOB_UNKNOWN…) goes into the message.
    if (res.status !== 201 && res.status !== 200 && res.status !== 204) await failStatus(res, 'PUT', this.side);
    await res.body.dump().catch(() => undefined);
    const got = header(res, 'docker-content-digest');
    if (got && got !== desc.digest) {
      this.fail(`PUT manifest ${repo}:${reference}: registry reports digest ${got}, not ${desc.digest}`, `${repo}:${reference}`, 'the registry rewrote the manifest; use a registry that stores manifests byte-for-byte');
    }
  }
}

/** `Bearer realm="https://auth/token",service="reg",scope="repository:a/b:pull"` (values may hold commas). */
export function parseChallenge(h: string | undefined): Challenge | undefined {
  if (!h) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(h);
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p; (p = re.exec(m[2])); ) params[p[1].toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme, params };
}
