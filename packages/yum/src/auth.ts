import { type SourceContext, UpstreamError, UsageError, failStatus, safeUrl } from '@airgap/core';

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

export function authHeaders(url: string, auth: RepoAuth | undefined, env = process.env): Record<string, string> {
  if (!auth || new URL(url).host !== auth.host) return {};
  const unset = [auth.usernameEnv, auth.passwordEnv].filter((n): n is string => Boolean(n) && env[n!] === undefined);
  if (unset.length) {
    throw new UsageError(`yum repository ${auth.host}: environment variable ${unset.join(' and ')} is not set`, { subject: auth.host, hint: `export ${unset.join(' and ')} with the repository credentials` });
  }
  const user = auth.usernameEnv ? env[auth.usernameEnv]! : '';
  const pass = auth.passwordEnv ? env[auth.passwordEnv]! : '';
  return { authorization: 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64') };
}

/** What to say when the repository answers `status` (401/403: the credentials). */
export function authHint(auth: RepoAuth | undefined): (status: number) => string | undefined {
  return (status) => status === 401 || status === 403
    ? auth ? `the repository refused the credentials from ${[auth.usernameEnv, auth.passwordEnv].filter(Boolean).join('/')}` : 'the repository needs credentials: set usernameEnv and passwordEnv on this yum entry'
    : undefined;
}

/**
 * GET a small document from the upstream with its auth and read it whole, as one transfer under the
 * engine's limit (docs/transfers.md); 404 returns undefined when `allow404`; any other non-200 throws
 * naming the URL.
 */
export function upstreamBytes(ctx: SourceContext, url: string, auth: RepoAuth | undefined, what: string, limit: number, allow404 = false): Promise<Buffer | undefined> {
  return ctx.transfer.run(async () => {
    const res = await ctx.http.request(url, { headers: authHeaders(url, auth), side: 'upstream', signal: ctx.signal });
    if (res.status === 404 && allow404) {
      await res.body.dump();
      return undefined;
    }
    if (res.status !== 200) await failStatus(res, 'GET', 'upstream', authHint(auth)(res.status));
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of res.body) {
      n += (c as Buffer).length;
      if (n > limit) {
        res.body.destroy();
        throw new UpstreamError(`${safeUrl(url)}: ${what} is larger than ${limit} bytes`, { subject: safeUrl(url) });
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  });
}
