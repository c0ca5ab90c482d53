import { Readable } from 'node:stream';
import { sendError } from '../respond.js';
import { serveAsset } from '../assets.js';
import type { FormatHandler } from '../types.js';
import { WritePolicyError } from '../storage.js';

/**
 * PyPI hosted (docs/reference/nexus-api.md §7, PyPiHostedHandlers / PyPiPathUtils @3.30):
 *  - `POST /repository/<repo>/` multipart, the legacy API twine speaks: `:action` must be `file_upload`
 *    (anything else is refused), the file is the `content` part, every other field is kept as an
 *    attribute; stored at `packages/<normalized-name>/<version>/<filename>`; answers 200.
 *  - `GET`/`HEAD` of a stored path; `GET simple/` and `simple/<name>/`: PEP 503 pages with `#sha256=`
 *    links (and `data-requires-python` from the upload's `requires_python`).
 * Not modelled: the Components API `pypi.asset` upload (Nexus reads name and version from the archive;
 * airgap uses the twine endpoint), group/proxy merging of simple pages, `gpg_signature` parts.
 */

export interface PypiUpload {
  path: string;
  filename: string;
  /** Every text field, in the order sent. */
  fields: [string, string][];
}

const uploads = new WeakMap<object, Map<string, PypiUpload[]>>();

/** The twine uploads a double accepted into `repository`, in order (what tests compare with twine's fields). */
export function pypiUploads(double: object, repository: string): PypiUpload[] {
  return uploads.get(double)?.get(repository) ?? [];
}

const norm = (n: string) => n.replace(/[-_.]+/g, '-').toLowerCase();
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export const pypi: FormatHandler = {
  format: 'pypi',

  async handle({ double, repo, canWrite, req, res, path, user }) {
    const method = req.method ?? 'GET';
    if (method === 'POST' && path === '') {
      if (!canWrite) return sendError(res, 403);
      const type = String(req.headers['content-type'] ?? '');
      if (!type.toLowerCase().startsWith('multipart/')) return sendError(res, 400, 'Expected multipart Content-Type');
      const form = await new Response(Readable.toWeb(req) as ReadableStream, { headers: { 'content-type': type } }).formData();
      const action = form.get(':action');
      if (action !== 'file_upload') return sendError(res, 400, `Unsupported ':action' ${String(action)}`);
      const content = form.get('content');
      const name = form.get('name');
      const version = form.get('version');
      if (!(content instanceof File) || typeof name !== 'string' || typeof version !== 'string') return sendError(res, 400, 'Missing content, name or version');
      const fields: [string, string][] = [];
      for (const [k, v] of form.entries()) if (typeof v === 'string') fields.push([k, v]);
      const storedPath = `packages/${norm(name)}/${version}/${content.name}`;
      try {
        await double.storage.put(repo, storedPath, Buffer.from(await content.arrayBuffer()), {
          contentType: 'application/octet-stream',
          uploader: user?.username,
          component: { name: norm(name), version },
        });
      } catch (e) {
        if (e instanceof WritePolicyError) return sendError(res, 400, e.message);
        throw e;
      }
      const byRepo = uploads.get(double) ?? new Map<string, PypiUpload[]>();
      uploads.set(double, byRepo);
      byRepo.set(repo.name, [...(byRepo.get(repo.name) ?? []), { path: storedPath, fields, filename: content.name }]);
      res.writeHead(200, { 'content-length': 0 }).end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') return sendError(res, 405);
    if (path === 'simple/' || path === 'simple') {
      const names = [...new Set(double.storage.list(repo.name).filter((a) => a.path.startsWith('packages/')).map((a) => a.path.split('/')[1]))].sort();
      return html(res, method, names.map((n) => `<a href="${n}/">${n}</a>`));
    }
    const simple = /^simple\/([^/]+)\/?$/.exec(path);
    if (simple) {
      const name = norm(simple[1]);
      const assets = double.storage.list(repo.name).filter((a) => a.path.startsWith(`packages/${name}/`));
      if (!assets.length) return sendError(res, 404);
      const rp = new Map(pypiUploads(double, repo.name).map((u) => [u.path, u.fields.find(([k]) => k === 'requires_python')?.[1]]));
      return html(res, method, assets.map((a) => {
        const r = rp.get(a.path);
        return `<a href="../../${a.path}#sha256=${a.checksum.sha256}"${r ? ` data-requires-python="${esc(r)}"` : ''}>${esc(a.path.split('/').pop()!)}</a>`;
      }));
    }
    serveAsset(double, repo.name, path, req, res);
  },
};

function html(res: import('node:http').ServerResponse, method: string, links: string[]): void {
  const body = `<!DOCTYPE html>\n<html><head><title>Simple index</title></head><body>\n${links.map((l) => `${l}<br/>`).join('\n')}\n</body></html>\n`;
  res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) });
  res.end(method === 'HEAD' ? undefined : body);
}
