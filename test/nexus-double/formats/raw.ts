import { posix } from 'node:path';
import { sendError } from '../respond.js';
import { deleteAsset, serveAsset, storeAsset } from '../assets.js';
import { type FormatHandler, ValidationErrors } from '../types.js';

/**
 * Raw hosted (docs/reference/nexus-api.md §9): PUT → 201, GET/HEAD → 200/404, DELETE → 204/404, anything else 405
 * (RawContentHandler). Components API: `raw.directory` (required) and `raw.assetN` + `raw.assetN.filename`
 * (RawUploadHandlerSupport, docs/reference/nexus-api.md §2).
 */
export const raw: FormatHandler = {
  format: 'raw',

  async handle({ double, repo, canWrite, req, res, path, user }) {
    const method = req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD') {
      return serveAsset(double, repo.name, path, req, res);
    }
    if (method === 'PUT') {
      if (!canWrite) return sendError(res, 403);
      if (!path || path.endsWith('/')) return sendError(res, 400, `Invalid path: /${path}`);
      return storeAsset(double, repo, path, req, res, { contentType: String(req.headers['content-type'] ?? 'application/octet-stream'), uploader: user?.username, component: rawComponent(path) }, 201);
    }
    if (method === 'DELETE') {
      return deleteAsset(double, repo.name, path, canWrite, res);
    }
    return sendError(res, 405);
  },

  async upload({ double, repo, user, fields, assets, ensurePermitted }) {
    const errors: { id: string; message: string }[] = [];
    for (const k of fields.keys()) if (k !== 'directory') errors.push({ id: k, message: `Unknown component field '${k}'` });
    const directory = fields.get('directory');
    if (!directory) errors.push({ id: 'directory', message: "Missing required component field 'Directory'" });
    for (const [key, a] of assets) {
      const n = key.replace(/^asset/, '') || '';
      for (const f of a.fields.keys()) if (f !== 'filename') errors.push({ id: `${key}.${f}`, message: `Unknown field '${f}' on asset '${n}'` });
      if (!a.fields.get('filename')) errors.push({ id: `${key}.filename`, message: `Missing required asset field 'Filename' on '${n}'` });
    }
    if (errors.length) throw new ValidationErrors(errors);
    const dir = directory!.replace(/^\/+|\/+$/g, '');
    for (const a of assets.values()) {
      const path = posix.join(dir, a.fields.get('filename')!);
      ensurePermitted(path);
      await double.storage.put(repo, path, Buffer.from(await a.file.arrayBuffer()), { contentType: a.file.type || 'application/octet-stream', uploader: user?.username, component: rawComponent(path) });
    }
  },
};

// Raw components are named by the full path and grouped by directory (`/dir`), which is what `name=`
// and `group=` match in the search API.
function rawComponent(path: string) {
  const dir = posix.dirname(path);
  return { group: dir === '.' ? '/' : `/${dir}`, name: path };
}
