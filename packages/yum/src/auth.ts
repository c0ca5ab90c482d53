import { type HttpResponse, type SourceContext, basicAuthFromEnv, failStatus } from '@airgap/core';

/**
 * Basic auth for a repository that needs it (docs/manifest.md: sources name environment variables, never
 * credentials). Only the names travel (in the bundle index, so `fetch` can rebuild the header); the
 * header is sent only to the repository's own host.
 */
export interface RepoAuth {
  host: string;
  usernameEnv?: string;
  passwordEnv?: string;
}

export function repoAuth(baseurl: string, spec: { usernameEnv?: string; passwordEnv?: string }): RepoAuth | undefined {
  if (!spec.usernameEnv && !spec.passwordEnv) return undefined;
  return { host: new URL(baseurl).host, usernameEnv: spec.usernameEnv, passwordEnv: spec.passwordEnv };
}

function authHeaders(url: string, auth: RepoAuth | undefined, env = process.env): Record<string, string> {
  if (!auth || new URL(url).host !== auth.host) return {};
  return basicAuthFromEnv(auth, env, `yum repository ${auth.host}`, { what: 'the repository credentials' }).headers;
}

/** GET from the upstream with its auth; 404 returns undefined when `allow404`; any other non-200 throws naming the URL. */
export async function upstreamGet(ctx: SourceContext, url: string, auth: RepoAuth | undefined, allow404 = false): Promise<HttpResponse | undefined> {
  const res = await ctx.http.request(url, { headers: authHeaders(url, auth), side: 'upstream', signal: ctx.signal });
  if (res.status === 200) return res;
  if (res.status === 404 && allow404) {
    await res.body.dump();
    return undefined;
  }
  const hint = res.status === 401 || res.status === 403
    ? auth ? `the repository refused the credentials from ${[auth.usernameEnv, auth.passwordEnv].filter(Boolean).join('/')}` : 'the repository needs credentials: set usernameEnv and passwordEnv on this yum entry'
    : undefined;
  return failStatus(res, 'GET', 'upstream', hint);
}
