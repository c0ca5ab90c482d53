import { execa } from 'execa';
import {
  type AirgapConfig, type HttpClient, type Transfers, UpstreamError, UsageError, basicAuthFromEnv, bearerFromEnv, failStatus, nearestText, safeUrl,
} from '@airgap/core';
import { type Packument, escapeName } from './packument.js';

let configuredRegistry: Promise<string> | undefined;

/** The registry the machine's npm is configured with (`registry: default`), read once per run. */
export function npmConfiguredRegistry(): Promise<string> {
  configuredRegistry ??= (async () => {
    let out: string;
    try {
      out = (await execa('npm', ['config', 'get', 'registry'], { stdin: 'ignore' })).stdout.trim();
    } catch (e) {
      throw new UsageError('registry: default needs the npm client to read its configured registry, and `npm config get registry` failed', {
        subject: 'npm config get registry',
        hint: 'install npm, or give the registry URL in the manifest entry',
        cause: e,
      });
    }
    if (!/^https?:\/\//.test(out)) throw new UsageError(`npm config get registry printed ${JSON.stringify(out)}, not a URL`, { subject: 'npm config get registry' });
    return out;
  })();
  return configuredRegistry;
}

const LOOPBACK = /^(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i;

export interface RegistryOptions {
  url: string;
  tokenEnv?: string;
  config: AirgapConfig;
  http: HttpClient;
  /** The run's transfer engine: packuments are fetched under its one limit (docs/transfers.md). */
  transfer: Transfers;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/**
 * One upstream npm registry: its base URL, auth, and a memo of packuments, each fetched as one transfer
 * under the engine's limit (closure resolution is dominated by packument round trips, so they are prefetched).
 */
export class Registry {
  readonly base: URL;
  private readonly auth: Record<string, string> = {};
  readonly secrets: string[] = [];
  private readonly packuments = new Map<string, Promise<Packument>>();

  constructor(private readonly opts: RegistryOptions) {
    let u: URL;
    try {
      u = new URL(opts.url.endsWith('/') ? opts.url : opts.url + '/');
    } catch {
      throw new UsageError(`npm registry ${JSON.stringify(opts.url)} is not a URL`, { subject: 'npm.registry', hint: 'write default or an https:// URL' });
    }
    const hostCreds = opts.config.registries?.[u.host];
    if (u.protocol === 'http:' && !LOOPBACK.test(u.hostname) && !hostCreds?.plainHttp) {
      throw new UsageError(`npm registry ${safeUrl(u)} is plain HTTP`, {
        subject: safeUrl(u),
        hint: `use https, or set registries."${u.host}".plainHttp: true in the config if that is really meant`,
      });
    }
    this.base = u;
    const env = opts.env ?? process.env;
    const tokenEnv = opts.tokenEnv ?? hostCreds?.tokenEnv;
    // One behaviour for every credential variable (packages/core/src/credentials.ts): unset = a usage error naming it.
    const creds = tokenEnv
      ? bearerFromEnv(tokenEnv, env, `npm registry ${safeUrl(u)}`, { subject: tokenEnv, what: 'the npm registry token' })
      : basicAuthFromEnv(hostCreds ?? {}, env, `registries."${u.host}"`, { what: 'the npm registry credentials' });
    Object.assign(this.auth, creds.headers);
    this.secrets.push(...creds.secrets);
  }

  /** Auth only goes to the registry's own host (tarballs may live elsewhere, e.g. a CDN). */
  headersFor(url: URL | string): Record<string, string> {
    return new URL(String(url)).host === this.base.host ? { ...this.auth } : {};
  }

  packumentUrl(name: string): URL {
    return new URL(escapeName(name), this.base);
  }

  /**
   * The full packument (npm's arborist asks for full metadata too: the version manifest is
   * published as is on the inside). Memoized per name.
   */
  packument(name: string): Promise<Packument> {
    let p = this.packuments.get(name);
    if (!p) {
      p = this.opts.transfer.run(() => this.fetchPackument(name));
      this.packuments.set(name, p);
      // A prefetch nobody awaits yet must not become an unhandled rejection.
      p.catch(() => undefined);
    }
    return p;
  }

  private async fetchPackument(name: string): Promise<Packument> {
    const url = this.packumentUrl(name);
    const res = await this.opts.http.request(url, { headers: { accept: 'application/json', ...this.headersFor(url) }, side: 'upstream', signal: this.opts.signal });
    if (res.status === 404) {
      await res.body.dump();
      // A name the registry does not have is the manifest's mistake (exit 2, docs/exit-codes.md).
      throw new UsageError(`npm package ${name} is not in the registry ${safeUrl(this.base)} (GET ${safeUrl(url)}: HTTP 404)`, {
        subject: name,
        hint: `check the name in the manifest, or the registry${nearestText(name, await this.searchNames(name), 'nearest names')}`,
      });
    }
    if (res.status !== 200) await failStatus(res, 'GET', 'upstream', res.status === 401 || res.status === 403 ? 'the registry wants credentials: set tokenEnv in the manifest entry' : undefined);
    const doc = (await res.body.json()) as Packument;
    if (!doc || typeof doc !== 'object' || !doc.versions) {
      throw new UpstreamError(`GET ${safeUrl(url)}: not an npm packument`, { subject: safeUrl(url) });
    }
    // Only what resolution and publishing use; readmes and per-user data can be megabytes.
    return { name: doc.name ?? name, 'dist-tags': doc['dist-tags'] ?? {}, versions: doc.versions };
  }

  /**
   * Names the registry's search (`/-/v1/search`, as `npm search` asks) finds for one it does not have: the
   * nearest are named in the error (docs/exit-codes.md). A registry without search gives none.
   */
  private async searchNames(name: string): Promise<string[]> {
    const url = new URL(`-/v1/search?text=${encodeURIComponent(name.replace(/^@[^/]+\//, ''))}&size=20`, this.base);
    try {
      const res = await this.opts.http.request(url, { headers: { accept: 'application/json', ...this.headersFor(url) }, side: 'upstream', signal: this.opts.signal, retry: false });
      if (res.status !== 200) {
        await res.body.dump();
        return [];
      }
      const doc = (await res.body.json()) as { objects?: Array<{ package?: { name?: string } }> };
      return (doc.objects ?? []).map((o) => String(o.package?.name ?? '')).filter(Boolean);
    } catch {
      return [];
    }
  }
}
