import { UsageError } from './errors.js';
import { registerSecret } from './log.js';

/** Auth headers to send and the secret values in them (scrubbed from every message: docs/ledger.md). */
export interface EnvCredentials {
  headers: Record<string, string>;
  secrets: string[];
}

/**
 * Credentials come from environment variables whose names the config or manifest gives; they are never
 * written in a file (docs/config.md). One behaviour for every caller: a named variable that is not set
 * (or set to nothing) is a UsageError naming each such variable after `where`, and every value read is
 * registered with the scrubber, so no message, log line or ledger record can show it.
 * `secret` says which names hold secrets (a user name or access key id is not one).
 */
export function readEnv<K extends string>(
  names: Partial<Record<K, string>>, env: NodeJS.ProcessEnv, where: string,
  opts: { secret?: K[]; subject?: string; what?: string } = {},
): Partial<Record<K, string>> {
  const entries = Object.entries(names).filter((e): e is [K, string] => typeof e[1] === 'string' && e[1] !== '');
  const unset = entries.filter(([, v]) => !env[v]).map(([, v]) => v);
  if (unset.length) {
    throw new UsageError(`${where}: environment variable ${unset.join(' and ')} is not set`, {
      subject: opts.subject ?? where,
      hint: `export ${unset.join(' and ')} with ${opts.what ?? 'the credentials'}`,
    });
  }
  const out: Partial<Record<K, string>> = {};
  for (const [k, v] of entries) {
    out[k] = env[v]!;
    if (!opts.secret || opts.secret.includes(k)) registerSecret(env[v]);
  }
  return out;
}

/** Basic auth from `usernameEnv`/`passwordEnv` (either may be left out); none named: no headers. */
export function basicAuthFromEnv(spec: { usernameEnv?: string; passwordEnv?: string }, env: NodeJS.ProcessEnv, where: string, opts: { subject?: string; what?: string } = {}): EnvCredentials {
  if (!spec.usernameEnv && !spec.passwordEnv) return { headers: {}, secrets: [] };
  const v = readEnv<'user' | 'pass'>({ user: spec.usernameEnv, pass: spec.passwordEnv }, env, where, { ...opts, secret: ['pass'] });
  const token = Buffer.from(`${v.user ?? ''}:${v.pass ?? ''}`).toString('base64');
  registerSecret(token);
  return { headers: { authorization: `Basic ${token}` }, secrets: [v.pass ?? '', token].filter(Boolean) };
}

/** `Authorization: Bearer` from a token variable. */
export function bearerFromEnv(tokenEnv: string, env: NodeJS.ProcessEnv, where: string, opts: { subject?: string; what?: string } = {}): EnvCredentials {
  const { token } = readEnv({ token: tokenEnv }, env, where, opts);
  return { headers: { authorization: `Bearer ${token!}` }, secrets: [token!] };
}
