import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';

/**
 * Format endpoints report errors through `sendError`: the message goes into the HTTP status line and
 * the body is an HTML page (docs/reference/nexus-api.md §11, DefaultHttpResponseSender).
 */
export function sendError(res: ServerResponse, status: number, message?: string): void {
  const text = message ?? STATUS_CODES[status] ?? 'Error';
  // A reason phrase cannot hold line breaks.
  res.statusMessage = text.replace(/[\r\n]+/g, ' ');
  const html = `<!DOCTYPE html>\n<html lang="en"><head><title>${status} - Sonatype Nexus Repository</title></head>\n<body><div class="nexus-header"><h1>Error ${status}</h1><p>${escapeHtml(text)}</p></div></body></html>\n`;
  res.writeHead(status, { 'content-type': 'text/html;charset=utf-8', 'content-length': Buffer.byteLength(html) });
  res.end(html);
}

/** The REST API answers in JSON (siesta). */
export function sendJson(res: ServerResponse, status: number, doc: unknown): void {
  const body = JSON.stringify(doc);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, headers);
  res.end();
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
