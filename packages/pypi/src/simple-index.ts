import { type HttpClient, UpstreamError, UsageError, failStatus, header, nearestText, safeUrl } from '@airgap/core';

/**
 * The simple repository API, client side: PEP 691 JSON when the server negotiates it, PEP 503 HTML
 * otherwise (static hosts cannot negotiate; docs/reference/repo-formats.md §5). Names are always requested
 * normalised with the trailing slash, never relying on redirects (pitfall 3).
 */

export interface ProjectFile {
  filename: string;
  /** Absolute URL, without the hash fragment. */
  url: string;
  hashes: Record<string, string>;
  requiresPython?: string;
  yanked: boolean;
  /** PEP 658/714: `<url>.metadata` is served; its hashes when given. */
  coreMetadata?: false | true | Record<string, string>;
  /** PEP 700 */
  size?: number;
}

export interface ProjectPage {
  name: string;
  url: string;
  files: ProjectFile[];
  format: 'json' | 'html';
}

export const ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01';

export async function fetchProjectPage(http: HttpClient, indexUrl: string, name: string, headers: Record<string, string>, signal?: AbortSignal): Promise<ProjectPage> {
  const url = new URL(encodeURIComponent(name) + '/', indexUrl.endsWith('/') ? indexUrl : indexUrl + '/').toString();
  const res = await http.request(url, { headers: { ...headers, accept: ACCEPT }, side: 'upstream', signal });
  if (res.status === 404) {
    await res.body.dump();
    const near = nearestText(name, await projectNames(http, indexUrl, headers, signal), 'nearest projects');
    throw new UsageError(`pypi: project ${name} not found at ${safeUrl(url)} (HTTP 404)`, { subject: safeUrl(url), hint: `check the requirement name and the index URL in the manifest${near}` });
  }
  if (res.status !== 200) await failStatus(res, 'GET', 'upstream');
  const type = (header(res, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
  const text = await res.body.text();
  try {
    if (type === 'application/vnd.pypi.simple.v1+json') return { ...parseJsonPage(text, res.url), format: 'json' };
    return { name, url: res.url, files: parseHtmlPage(text, res.url), format: 'html' };
  } catch (e) {
    throw new UpstreamError(`pypi: cannot read the project page ${safeUrl(res.url)}: ${(e as Error).message}`, { subject: safeUrl(res.url), cause: e });
  }
}

function parseJsonPage(text: string, base: string): Omit<ProjectPage, 'format'> {
  const doc = JSON.parse(text) as {
    meta?: { 'api-version'?: string };
    name?: string;
    files?: Array<{
      filename: string; url: string; hashes?: Record<string, string>; 'requires-python'?: string | null;
      yanked?: boolean | string; 'core-metadata'?: boolean | Record<string, string>; 'dist-info-metadata'?: boolean | Record<string, string>;
      size?: number;
    }>;
  };
  const major = String(doc.meta?.['api-version'] ?? '1').split('.')[0];
  if (major !== '1') throw new Error(`unsupported simple API version ${doc.meta?.['api-version']}`);
  if (!Array.isArray(doc.files)) throw new Error('no files array');
  return {
    name: doc.name ?? '',
    url: base,
    files: doc.files.map((f) => {
      const u = new URL(f.url, base);
      u.hash = '';
      const meta = f['core-metadata'] ?? f['dist-info-metadata'];
      return {
        filename: f.filename,
        url: u.toString(),
        hashes: lowerKeys(f.hashes ?? {}),
        requiresPython: f['requires-python'] || undefined,
        // PEP 691: `yanked` is false or a reason string, which may be empty.
        yanked: f.yanked !== undefined && f.yanked !== null && f.yanked !== false,
        coreMetadata: typeof meta === 'object' && meta !== null ? lowerKeys(meta) : Boolean(meta),
        size: typeof f.size === 'number' ? f.size : undefined,
      };
    }),
  };
}

function lowerKeys(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), String(v).toLowerCase()]));
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function htmlUnescape(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

export function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function parseAttributes(src: string): Map<string, string | true> {
  const attrs = new Map<string, string | true>();
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (let m; (m = re.exec(src)); ) {
    const v = m[2] ?? m[3] ?? m[4];
    attrs.set(m[1].toLowerCase(), v === undefined ? true : htmlUnescape(v));
  }
  return attrs;
}

/** PEP 503 anchors; PEP 592 `data-yanked`, PEP 658/714 `data-core-metadata` (and the legacy `data-dist-info-metadata`). */
export function parseHtmlPage(text: string, pageUrl: string): ProjectFile[] {
  const baseTag = /<base\s([^>]*)>/i.exec(text);
  const baseHref = baseTag ? parseAttributes(baseTag[1]).get('href') : undefined;
  const base = typeof baseHref === 'string' ? new URL(baseHref, pageUrl).toString() : pageUrl;
  const files: ProjectFile[] = [];
  for (const m of text.matchAll(/<a\s([^>]*)>([\s\S]*?)<\/a\s*>/gi)) {
    const attrs = parseAttributes(m[1]);
    const href = attrs.get('href');
    if (typeof href !== 'string') continue;
    const u = new URL(href, base);
    const hashes: Record<string, string> = {};
    const frag = /^#([a-z0-9_]+)=([0-9a-f]+)$/i.exec(u.hash);
    if (frag) hashes[frag[1].toLowerCase()] = frag[2].toLowerCase();
    u.hash = '';
    const filename = htmlUnescape(m[2].replace(/<[^>]*>/g, '')).trim() || decodeURIComponent(u.pathname.split('/').pop() ?? '');
    const meta = attrs.get('data-core-metadata') ?? attrs.get('data-dist-info-metadata');
    let coreMetadata: ProjectFile['coreMetadata'] = false;
    if (meta === true || meta === 'true') coreMetadata = true;
    else if (typeof meta === 'string') {
      const h = /^([a-z0-9_]+)=([0-9a-f]+)$/i.exec(meta);
      coreMetadata = h ? { [h[1].toLowerCase()]: h[2].toLowerCase() } : false;
    }
    const rp = attrs.get('data-requires-python');
    files.push({
      filename,
      url: u.toString(),
      hashes,
      requiresPython: typeof rp === 'string' && rp ? rp : undefined,
      yanked: attrs.has('data-yanked'),
      coreMetadata,
    });
  }
  return files;
}

/** The largest index root page read for "nearest projects" (a public index lists every project it has). */
const MAX_ROOT_PAGE = 64 << 20;

/**
 * The project names the index root lists (PEP 691 `projects`, or the PEP 503 page's links), for the
 * nearest names of one it does not have (docs/exit-codes.md). Only on that error path; an index that does
 * not serve its root, or serves more than MAX_ROOT_PAGE, gives no names and the error stays as it is.
 */
async function projectNames(http: HttpClient, indexUrl: string, headers: Record<string, string>, signal?: AbortSignal): Promise<string[]> {
  try {
    const res = await http.request(indexUrl.endsWith('/') ? indexUrl : indexUrl + '/', { headers: { ...headers, accept: ACCEPT }, side: 'upstream', signal, retry: false });
    if (res.status !== 200 || Number(header(res, 'content-length') ?? 0) > MAX_ROOT_PAGE) {
      await res.body.dump();
      return [];
    }
    const text = await res.body.text();
    if ((header(res, 'content-type') ?? '').startsWith('application/vnd.pypi.simple.v1+json')) {
      const doc = JSON.parse(text) as { projects?: Array<{ name?: string }> };
      return (doc.projects ?? []).map((p) => String(p.name ?? ''));
    }
    return [...text.matchAll(/<a\b[^>]*>([^<]+)<\/a>/gi)].map((m) => m[1].trim());
  } catch {
    return [];
  }
}
