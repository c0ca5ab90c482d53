import type { IncomingMessage, ServerResponse } from 'node:http';
import { normalizeName, parseHtmlPage } from '@airgap/pypi';
import { type MirrorRoot, pathSegments } from './confined.js';
import { contentTypeOf, notFound, sendFile, sendText } from './respond.js';

const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';
const HTML_TYPE = 'application/vnd.pypi.simple.v1+html';

/** PEP 691 content negotiation: the JSON form when the client ranks it above every HTML form. */
export function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  let json = 0;
  let html = 0;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().split(';').map((s) => s.trim());
    const qp = params.find((p) => p.startsWith('q='));
    const q = qp ? Number(qp.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === JSON_TYPE) json = Math.max(json, q);
    else if (type === HTML_TYPE || type === 'text/html' || type === '*/*') html = Math.max(html, q);
  }
  return json > 0 && json >= html;
}

/**
 * `/pypi/`: the mirror's PEP 503 pages (docs/pypi.md) and, on `Accept: application/vnd.pypi.simple.v1+json`,
 * the same content as PEP 691 JSON, made from the page itself so both forms always agree. File URLs stay
 * relative (`../../files/…`), as the pages have them: PEP 691 resolves them against the page URL.
 */
export async function handlePypi(req: IncomingMessage, res: ServerResponse, root: MirrorRoot, rest: string): Promise<void> {
  const head = req.method === 'HEAD';
  if (rest.startsWith('files/')) {
    const segments = pathSegments(rest);
    const file = await root.openFile(['pypi', ...segments]);
    if (!file) return notFound(res, head);
    return sendFile(req, res, file, contentTypeOf(segments[segments.length - 1]));
  }
  if (rest !== 'simple/' && !rest.startsWith('simple/')) return notFound(res, head);
  const inner = rest.slice('simple/'.length);
  const json = wantsJson(req.headers.accept);
  if (inner === '') {
    const html = await root.readText(['pypi', 'simple', 'index.html']);
    if (html === undefined) return notFound(res, head);
    if (!json) return sendText(res, 200, html, 'text/html; charset=utf-8', { vary: 'Accept' }, head);
    const projects = parseHtmlPage(html, 'http://mirror.invalid/pypi/simple/').map((f) => ({ name: f.filename }));
    return sendText(res, 200, JSON.stringify({ meta: { 'api-version': '1.0' }, projects }), JSON_TYPE, { vary: 'Accept' }, head);
  }
  const [raw, ...more] = inner.split('/');
  if (more.length > 1 || (more.length === 1 && more[0] !== '')) return notFound(res, head);
  const [name] = pathSegments(raw);
  const normal = normalizeName(name);
  // PEP 503: a client may ask for any spelling; redirect to the normalised one with its trailing slash.
  if (normal !== name || more.length === 0) {
    res.writeHead(301, { location: `/pypi/simple/${normal}/`, 'content-length': 0 });
    res.end();
    return;
  }
  const html = await root.readText(['pypi', 'simple', normal, 'index.html']);
  if (html === undefined) return notFound(res, head);
  if (!json) return sendText(res, 200, html, 'text/html; charset=utf-8', { vary: 'Accept' }, head);
  const origin = 'http://mirror.invalid';
  const files = parseHtmlPage(html, `${origin}/pypi/simple/${normal}/`).map((f) => ({
    filename: f.filename,
    url: f.url.slice(origin.length),
    hashes: f.hashes,
    ...(f.requiresPython ? { 'requires-python': f.requiresPython } : {}),
    ...(f.coreMetadata ? { 'core-metadata': f.coreMetadata, 'dist-info-metadata': f.coreMetadata } : {}),
    ...(f.yanked ? { yanked: true } : {}),
  }));
  return sendText(res, 200, JSON.stringify({ meta: { 'api-version': '1.0' }, name: normal, files }), JSON_TYPE, { vary: 'Accept' }, head);
}
