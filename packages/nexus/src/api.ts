import type { HttpClient, HttpResponse, TargetConfig } from '@airgap/core';
import { TargetError, safeUrl } from '@airgap/core';
import { type FailureContext, targetFailure } from './failure.js';
import { type UploadPart, multipartBody } from './multipart.js';

/** `GET /service/rest/v1/repositories` item (RepositoryXO, docs/reference/nexus-api.md §10). */
export interface NexusRepository {
  name: string;
  /** docker, helm, apt, yum, pypi, npm, raw, maven2, … */
  format: string;
  /** hosted, proxy or group */
  type: string;
  url?: string;
  attributes?: Record<string, unknown>;
}

export type WritePolicy = 'ALLOW' | 'ALLOW_ONCE' | 'DENY';

/** An asset as the search API returns it (AssetXO, docs/reference/nexus-api.md §10). `checksum.sha256` may be missing. */
export interface NexusAsset {
  id: string;
  /** Path inside the repository, without a leading slash. */
  path: string;
  repository: string;
  format: string;
  downloadUrl: string;
  checksum: { sha1?: string; sha256?: string; sha512?: string; md5?: string };
  contentType?: string;
  fileSize?: number;
  lastModified?: string;
}

/** Parameters of `/service/rest/v1/search/assets` (docs/reference/nexus-api.md §10); all are ANDed by Nexus. */
export interface AssetQuery {
  repository: string;
  format?: string;
  group?: string;
  name?: string;
  version?: string;
  q?: string;
  md5?: string;
  sha1?: string;
  /** Hex, or `sha256:<hex>`. */
  sha256?: string;
  sha512?: string;
}

/**
 * The small typed client of the Nexus REST API that the Nexus target and the ecosystems' publish halves
 * use (`ctx.services.nexus`). Every call sends the target's credentials, retries 5xx/resets (HttpClient)
 * and turns any other failure into a TargetError an operator can act on.
 */
export interface NexusApi {
  /** Base URL of Nexus (`targets.<t>.url`), ending in `/`. */
  readonly url: string;
  /** `GET /service/rest/v1/status/writable`: false when Nexus answers 503 (read-only mode). */
  writable(): Promise<boolean>;
  /** `GET /service/rest/v1/repositories`: the repositories the airgap user can see. */
  repositories(): Promise<NexusRepository[]>;
  /**
   * The write policy of a hosted repository (`GET /service/rest/v1/repositories/<format>/hosted/<name>`),
   * or undefined when the user may not read repository settings: best effort, never an error.
   */
  writePolicy(repo: Pick<NexusRepository, 'name' | 'format'>): Promise<WritePolicy | undefined>;
  /** `GET /service/rest/v1/search/assets`, every page (continuationToken). */
  searchAssets(query: AssetQuery): Promise<NexusAsset[]>;
  /** The assets of `repository` whose content has this sha256 (hex or `sha256:<hex>`). */
  assetsBySha256(repository: string, sha256: string): Promise<NexusAsset[]>;
  /**
   * The asset stored at `path` in `repository` (search by component name, which for raw is the path),
   * or undefined when the search finds none (search indexes can lag: callers fall back to GET).
   */
  assetAtPath(repository: string, path: string): Promise<NexusAsset | undefined>;
  /**
   * Components API upload: `POST /service/rest/v1/components?repository=<repo>` multipart (docs/reference/nexus-api.md §2),
   * success 204. `subject` names the artifact in errors. File parts are streamed (and re-opened on retry).
   */
  uploadComponent(repository: string, parts: UploadPart[], subject?: string): Promise<void>;
  /** Throw the TargetError for a failed answer of this Nexus (names env vars on 401, proxy limit on 413, …). */
  fail(res: HttpResponse, method: string, about?: { subject?: string; repository?: string; format?: string }): Promise<never>;
  /** The auth headers to send to this Nexus (for requests the API does not wrap). Never print them. */
  headers(): Record<string, string>;
  /** Secret values to scrub from any text. */
  secrets(): string[];
}

export interface NexusApiOptions {
  url: string;
  http: HttpClient;
  auth: { headers: Record<string, string>; secrets: string[] };
  target: { name: string; config: TargetConfig };
}

export function normalizeSha256(s: string): string {
  return s.replace(/^sha256:/, '').toLowerCase();
}

export function createNexusApi(opts: NexusApiOptions): NexusApi {
  const base = opts.url.replace(/\/+$/, '') + '/';
  const rest = (path: string, query: Record<string, string | undefined> = {}) => {
    const u = new URL(`service/rest/v1/${path}`, base);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') u.searchParams.set(k, v);
    return u;
  };
  const headers = (extra: Record<string, string> = {}) => ({ accept: 'application/json', ...opts.auth.headers, ...extra });
  const fc = (method: string, about: { subject?: string; repository?: string; format?: string } = {}): FailureContext => ({ method, target: opts.target, secrets: opts.auth.secrets, ...about });
  const fail = (res: HttpResponse, method: string, about?: { subject?: string; repository?: string; format?: string }) => targetFailure(res, fc(method, about));

  async function getJson<T>(u: URL, about?: { subject?: string; repository?: string; format?: string }): Promise<T> {
    const res = await opts.http.request(u, { headers: headers(), side: 'target' });
    if (res.status !== 200) await fail(res, 'GET', about);
    try {
      return (await res.body.json()) as T;
    } catch (e) {
      throw new TargetError(`GET ${safeUrl(u)}: the answer is not JSON`, { subject: safeUrl(u), hint: `is targets.${opts.target.name}.url the Nexus base URL (without /repository/…)?`, cause: e });
    }
  }

  const api: NexusApi = {
    url: base,
    headers: () => ({ ...opts.auth.headers }),
    secrets: () => [...opts.auth.secrets],
    fail,

    async writable() {
      // 503 means read-only here (docs/reference/nexus-api.md §10): asking again would only delay the answer.
      const u = rest('status/writable');
      const res = await opts.http.request(u, { headers: headers(), side: 'target', retry: false });
      if (res.status === 200) {
        await res.body.dump();
        return true;
      }
      if (res.status === 503) {
        await res.body.dump();
        return false;
      }
      if (res.status === 404) {
        await res.body.dump();
        throw new TargetError(`GET ${safeUrl(u)}: HTTP 404 — no Nexus REST API at this URL`, { subject: safeUrl(u), hint: `is targets.${opts.target.name}.url the Nexus base URL (without /repository/…)? For a plain registry use type: registries` });
      }
      return fail(res, 'GET');
    },

    async repositories() {
      const doc = await getJson<unknown>(rest('repositories'));
      if (!Array.isArray(doc)) throw new TargetError(`GET ${safeUrl(rest('repositories'))}: expected a JSON array of repositories`, { subject: safeUrl(rest('repositories')) });
      return doc as NexusRepository[];
    },

    async writePolicy(repo) {
      const u = rest(`repositories/${encodeURIComponent(repo.format)}/hosted/${encodeURIComponent(repo.name)}`);
      const res = await opts.http.request(u, { headers: headers(), side: 'target' });
      if (res.status !== 200) {
        await res.body.dump();
        return undefined;
      }
      const doc = (await res.body.json().catch(() => undefined)) as { storage?: { writePolicy?: string } } | undefined;
      const p = doc?.storage?.writePolicy?.toUpperCase();
      return p === 'ALLOW' || p === 'ALLOW_ONCE' || p === 'DENY' ? p : undefined;
    },

    async searchAssets(query) {
      const q: Record<string, string | undefined> = { ...query, sha256: query.sha256 ? normalizeSha256(query.sha256) : undefined };
      const out: NexusAsset[] = [];
      let token: string | undefined;
      for (let page = 0; page < 1000; page++) {
        const doc = await getJson<{ items?: NexusAsset[]; continuationToken?: string | null }>(rest('search/assets', { ...q, continuationToken: token }), { repository: query.repository });
        out.push(...(doc.items ?? []));
        token = doc.continuationToken ?? undefined;
        if (!token) break;
      }
      return out;
    },

    async assetsBySha256(repository, sha256) {
      const want = normalizeSha256(sha256);
      const found = await api.searchAssets({ repository, sha256: want });
      // Guard against a search that ignores the parameter: keep only real matches.
      return found.filter((a) => a.repository === repository && (a.checksum?.sha256 === undefined || a.checksum.sha256.toLowerCase() === want));
    },

    async assetAtPath(repository, path) {
      const want = path.replace(/^\/+/, '');
      const found = await api.searchAssets({ repository, name: want });
      return found.find((a) => a.repository === repository && a.path.replace(/^\/+/, '') === want);
    },

    async uploadComponent(repository, parts, subject) {
      const u = rest('components', { repository });
      const body = multipartBody(parts);
      const res = await opts.http.request(u, {
        method: 'POST',
        headers: headers({ 'content-type': body.contentType, 'content-length': String(body.length) }),
        body: () => body.open(),
        side: 'target',
      });
      if (res.status === 204 || res.status === 200 || res.status === 201) {
        await res.body.dump();
        return;
      }
      // Field names carry the format (`raw.asset1`): it names the exact privileges in a 403 hint.
      await fail(res, 'POST', { subject, repository, format: /^(\w+)\./.exec(parts[0]?.name ?? '')?.[1] });
    },
  };
  return api;
}
