import { STATUS_CODES } from 'node:http';
import { type HttpResponse, type TargetConfig, TargetError, header, redact, safeUrl } from '@airgap/core';

/** What a failed request was about, so its error can say what to do. */
export interface FailureContext {
  /** The HTTP method sent. */
  method: string;
  /** The target as configured: its name, and the names (never the values) of its credential variables. */
  target: { name: string; config: TargetConfig };
  /** The thing being handled, e.g. `raw-hosted/tools/velero.tar.gz` or `file tools/velero.tar.gz`. */
  subject?: string;
  /** The Nexus repository the request went to, if any. */
  repository?: string;
  /** Its Nexus format (raw, npm, …), to name the exact privileges in hints. */
  format?: string;
  /** Values to scrub from anything the server says (the endpoint's secrets()). */
  secrets?: string[];
}

/** A target's refusal with its HTTP status, so callers can tell a missing privilege from other failures. */
export class TargetHttpError extends TargetError {
  constructor(readonly status: number, message: string, details: ConstructorParameters<typeof TargetError>[1]) {
    super(message, details);
  }
}

/** Answers Nexus gives when an asset exists and the write policy forbids replacing it (docs/reference/nexus-api.md §11). */
const REDEPLOY = /cannot be updated|does not allow updating assets|is read-only/i;

export function isRedeployRefusal(text: string): boolean {
  return REDEPLOY.test(text);
}

/**
 * The server's own words for a failed request, in one line. Nexus answers in several shapes
 * (docs/reference/nexus-api.md §2, §8, §11): the REST API's validation array `[{"id","message"}]`, npm's
 * `{"success":false,"error"}`, or — from format endpoints through `sendError` — the message in the HTTP
 * status line with an HTML page as body.
 */
export async function serverMessage(res: HttpResponse): Promise<string> {
  let text = '';
  try {
    // Error bodies are small; read at most 64 KiB of one so a misbehaving server cannot fill memory.
    for await (const chunk of res.body) {
      text += Buffer.from(chunk as Uint8Array).toString('utf8');
      if (text.length > 65536) break;
    }
  } catch {
    /* a broken body: the status line says enough */
  }
  const parts: string[] = [];
  const reason = res.statusText?.trim();
  if (reason && reason !== STATUS_CODES[res.status]) parts.push(reason);
  const type = header(res, 'content-type') ?? '';
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{') || type.includes('json')) {
    try {
      const doc = JSON.parse(trimmed) as unknown;
      const items = Array.isArray(doc) ? doc : [doc];
      for (const item of items) {
        // The Components API also answers with a bare JSON string ("Expected multipart Content-Type").
        if (typeof item === 'string') parts.push(item);
        if (!item || typeof item !== 'object') continue;
        const o = item as Record<string, unknown>;
        if (typeof o.message === 'string') parts.push(typeof o.id === 'string' && o.id !== '*' ? `${o.id}: ${o.message}` : o.message);
        else if (typeof o.error === 'string') parts.push(o.error);
        else if (Array.isArray(o.errors)) {
          // Docker Registry error body (docs/reference/nexus-api.md §3)
          for (const e of o.errors as Record<string, unknown>[]) parts.push([e.code, e.message, typeof e.detail === 'string' ? e.detail : ''].filter(Boolean).join(': '));
        }
      }
      return dedupe(parts).join('; ');
    } catch {
      /* not JSON after all */
    }
  }
  if (/<html/i.test(trimmed)) {
    if (!parts.length) {
      const title = /<title>([^<]*)<\/title>/i.exec(trimmed)?.[1]?.trim();
      const body = trimmed.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
      parts.push((body || title || '').slice(0, 300));
    }
  } else if (trimmed) {
    parts.push(trimmed.replace(/\s+/g, ' ').slice(0, 300));
  }
  return dedupe(parts.filter(Boolean)).join('; ');
}

function dedupe(xs: string[]): string[] {
  return xs.filter((x, i) => xs.findIndex((y) => y.includes(x) || x.includes(y)) === i);
}

function credentialNames(config: TargetConfig): string[] {
  const c = config as { usernameEnv?: string; passwordEnv?: string };
  return [c.usernameEnv, c.passwordEnv].filter((x): x is string => Boolean(x));
}

/**
 * Turn a non-2xx answer of Nexus (or any target server) into a TargetError that names the URL, the
 * status, the server's words, and what the operator can do (issue 4: errors a user can act on).
 * Credentials never appear: URLs go through safeUrl and the server's text through redact.
 */
export async function describeFailure(res: HttpResponse, fc: FailureContext): Promise<TargetHttpError> {
  const said = redact(await serverMessage(res), fc.secrets ?? []);
  const where = `${fc.method} ${safeUrl(res.url)}`;
  const about = fc.subject ? `${fc.subject}: ` : '';
  const envs = credentialNames(fc.target.config);
  const tname = fc.target.name;
  const repo = fc.repository;
  const tail = said ? ` — ${said}` : '';
  const privileges = (actions: string[]) => actions.map((a) => `nx-repository-view-${fc.format ?? '*'}-${repo}-${a}`).join(', ');
  const make = (message: string, hint?: string) => new TargetHttpError(res.status, redact(message, fc.secrets ?? []), { subject: fc.subject ?? safeUrl(res.url), hint });

  switch (res.status) {
    case 401: {
      const token = /token/i.test(said);
      const hint = envs.length
        ? `check the credentials in ${envs.join(' and ')} (target ${tname})${token ? '; this Nexus requires user tokens: put the token name code and pass code in them' : ''}`
        : `target ${tname} sends no credentials: set usernameEnv and passwordEnv to the names of environment variables holding them`;
      return make(`${about}${where}: HTTP 401 authentication failed${envs.length ? ` with the credentials from ${envs.join(' and ')}` : ''}${tail}`, hint);
    }
    case 402:
      return make(`${about}${where}: HTTP 402 Payment Required — Nexus refuses the request because its licence has expired or is invalid${tail}`, 'renew or reinstall the Nexus Pro licence (Administration → System → Licensing), then re-run: unpack resumes');
    case 403:
      return make(`${about}${where}: HTTP 403 forbidden — the airgap user${envs[0] ? ` (${envs[0]})` : ''} lacks a privilege for this${tail}`,
        repo ? `grant the airgap user ${privileges(['browse', 'read', 'add', 'edit'])} (docs/nexus.md: least privileges)` : 'grant the airgap user the privileges listed in docs/nexus.md');
    case 404:
      if (repo && (/Unable to locate repository|Repository not found|repository/i.test(said) || !said)) {
        return make(`${about}${where}: HTTP 404 — repository ${repo} not found${tail}`, `create the hosted repository ${repo} or fix targets.${tname}.repositories`);
      }
      return make(`${about}${where}: HTTP 404 not found${tail}`);
    case 405:
      return make(`${about}${where}: HTTP 405 method not allowed${tail}`, repo ? `is ${repo} a hosted repository of the right format? (docs/nexus.md)` : 'is the endpoint the right kind of server?');
    case 413:
      return make(`${about}${where}: HTTP 413 request too large — a reverse proxy in front of Nexus limits the request body size${tail}`,
        'raise the body-size limit of the reverse proxy (nginx: client_max_body_size, default 1m; also consider proxy_request_buffering off), then re-run unpack');
    case 400:
      if (isRedeployRefusal(said)) {
        return make(`${about}${where}: HTTP 400 — the asset already exists and the repository's write policy does not allow replacing it${tail}`,
          'airgap never overwrites a published asset: if the new content is meant to replace it, delete the old asset in Nexus first');
      }
      if (/Not authorized for requested path/i.test(said)) {
        return make(`${about}${where}: HTTP 400 — the airgap user may not write this path${tail}`, repo ? `grant the airgap user ${privileges(['add', 'edit'])} (docs/nexus.md)` : undefined);
      }
      return make(`${about}${where}: HTTP 400 rejected${tail}`);
    default:
      if (res.status >= 500) {
        return make(`${about}${where}: HTTP ${res.status}${tail}`, 'the server kept failing after retries: check its health and logs, then re-run unpack (it resumes where it stopped)');
      }
      return make(`${about}${where}: HTTP ${res.status}${tail}`);
  }
}

export async function targetFailure(res: HttpResponse, fc: FailureContext): Promise<never> {
  throw await describeFailure(res, fc);
}
