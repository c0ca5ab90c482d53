import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { sendEmpty, sendJson } from './respond.js';
import { WritePolicyError, type StoredAsset } from './storage.js';
import { type DoubleState, type FormatHandler, type UserDef, ValidationErrors } from './types.js';

export interface RestContext {
  double: DoubleState & { writable: boolean };
  formats: Map<string, FormatHandler>;
  user?: UserDef;
  canRead(repo: string): boolean;
  canWrite(repo: string): boolean;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Answer 401 with Nexus's challenge. */
  challenge(): void;
}

const PAGE = 50;

/** `/service/rest/v1/...` (docs/reference/nexus-api.md §2, §10). */
export async function handleRest(c: RestContext, sub: string): Promise<void> {
  const { req, res, url, double } = c;
  const method = req.method ?? 'GET';

  // Status endpoints answer anonymous callers (StatusResource).
  if (sub === 'status' || sub === 'status/writable') {
    if (method !== 'GET') return sendEmpty(res, 405);
    return sendEmpty(res, sub === 'status' || double.writable ? 200 : 503);
  }
  if (!c.user) return c.challenge();

  if (sub === 'repositories' && method === 'GET') {
    // Only what the user may browse is listed (RepositoriesResource filters by permission).
    const list = [...double.repositories.values()].filter((r) => c.canRead(r.name)).map((r) => ({
      name: r.name, format: r.format, type: r.type ?? 'hosted', url: `${double.url}repository/${r.name}`, attributes: r.attributes ?? {},
    }));
    return sendJson(res, 200, list);
  }

  const settings = /^repositories\/([^/]+)\/(hosted|proxy|group)\/([^/]+)$/.exec(sub);
  if (settings && method === 'GET') {
    if (!c.user.admin) return sendEmpty(res, 403);
    const [, format, type, name] = settings;
    const r = double.repositories.get(decodeURIComponent(name));
    if (!r || r.format !== format || (r.type ?? 'hosted') !== type) return sendEmpty(res, 404);
    return sendJson(res, 200, {
      name: r.name, format: r.format, type: r.type ?? 'hosted', url: `${double.url}repository/${r.name}`, online: true,
      storage: { blobStoreName: 'default', strictContentTypeValidation: true, writePolicy: (r.writePolicy ?? 'ALLOW_ONCE').toLowerCase() },
      // Format settings sit beside storage (e.g. yum: { repodataDepth, deployPolicy }, apt: { distribution }).
      ...(r.attributes ?? {}),
    });
  }

  if (sub.startsWith('search') && c.user.search === false) return sendEmpty(res, 403);
  if (sub === 'search/assets' && method === 'GET') return searchAssets(c);

  if (sub === 'components' && method === 'POST') return uploadComponent(c);
  if (sub === 'components' && method === 'GET') {
    const repository = url.searchParams.get('repository');
    if (!repository) return sendJson(res, 422, 'Missing repository parameter');
    if (!double.repositories.has(repository)) return sendJson(res, 404, `Unable to locate repository with id ${repository}`);
    if (!c.canRead(repository)) return sendEmpty(res, 403);
    const byComponent = new Map<string, StoredAsset[]>();
    for (const a of double.storage.list(repository)) {
      const key = `${a.component.group ?? ''}\0${a.component.name}\0${a.component.version ?? ''}`;
      byComponent.set(key, [...(byComponent.get(key) ?? []), a]);
    }
    const items = [...byComponent.values()].map((assets) => ({
      id: assets[0].id, repository, format: assets[0].format, group: assets[0].component.group ?? null, name: assets[0].component.name,
      version: assets[0].component.version ?? null, assets: assets.map((a) => assetXO(double, a)),
    }));
    return page(c, items);
  }
  return sendEmpty(res, 404);
}

function assetXO(double: DoubleState, a: StoredAsset) {
  return {
    downloadUrl: double.storage.downloadUrl(a), path: a.path, id: a.id, repository: a.repository, format: a.format,
    checksum: { ...a.checksum }, contentType: a.contentType, lastModified: a.lastModified, lastDownloaded: null,
    uploader: a.uploader ?? null, uploaderIp: '127.0.0.1', fileSize: a.size, blobCreated: a.lastModified, blobStoreName: 'default',
  };
}

function page<T>(c: RestContext, items: T[]): void {
  const start = Number(c.url.searchParams.get('continuationToken') ?? 0) || 0;
  const slice = items.slice(start, start + PAGE);
  const next = start + PAGE < items.length ? String(start + PAGE) : null;
  sendJson(c.res, 200, { items: slice, continuationToken: next });
}

/** `/v1/search/assets`: every given parameter must match (DefaultSearchMappings, docs/reference/nexus-api.md §10). */
function searchAssets(c: RestContext): void {
  const q = c.url.searchParams;
  const repository = q.get('repository');
  const matches = c.double.storage.list(repository ?? undefined).filter((a) => {
    if (!c.canRead(a.repository)) return false;
    for (const h of ['md5', 'sha1', 'sha256', 'sha512'] as const) {
      const v = q.get(h);
      if (v && a.checksum[h] !== v.toLowerCase()) return false;
    }
    if (q.get('format') && a.format !== q.get('format')) return false;
    if (q.get('name') && a.component.name !== q.get('name')) return false;
    if (q.get('group') && a.component.group !== q.get('group')) return false;
    if (q.get('version') && a.component.version !== q.get('version')) return false;
    const kw = q.get('q');
    if (kw && !a.path.includes(kw) && !a.component.name.includes(kw)) return false;
    return true;
  });
  page(c, matches.map((a) => assetXO(c.double, a)));
}

const FILE_FIELD = /^(\w+\.)?asset\d*$/;

/**
 * `POST /service/rest/v1/components?repository=` (ComponentsResource, UploadManagerImpl,
 * UploadComponentMultipartHelper; docs/reference/nexus-api.md §2): 204 on success, 400 JSON `[{"id","message"}]` on
 * validation errors.
 */
async function uploadComponent(c: RestContext): Promise<void> {
  const { req, res, url, double } = c;
  const repository = url.searchParams.get('repository');
  if (!repository) {
    req.resume();
    return sendJson(res, 422, 'Missing required parameter: repository');
  }
  const repo = double.repositories.get(repository);
  if (!repo) {
    req.resume();
    return sendJson(res, 404, `Unable to locate repository with id ${repository}`);
  }
  if (!c.canRead(repository)) {
    req.resume();
    return sendEmpty(res, 403);
  }
  const type = String(req.headers['content-type'] ?? '');
  if (!type.toLowerCase().startsWith('multipart/')) {
    req.resume();
    return sendJson(res, 400, 'Expected multipart Content-Type');
  }
  if ((repo.type ?? 'hosted') !== 'hosted') {
    req.resume();
    return sendJson(res, 400, [{ id: '*', message: `Uploading components to a '${repo.type}' type repository is unsupported, must be 'hosted'` }]);
  }
  const handler = c.formats.get(repo.format);
  if (!handler?.upload) {
    req.resume();
    return sendJson(res, 400, [{ id: '*', message: `Uploading components to '${repo.format}' repositories is unsupported` }]);
  }
  let form: FormData;
  try {
    form = await new Response(Readable.toWeb(req) as ReadableStream, { headers: { 'content-type': type } }).formData();
  } catch {
    return sendJson(res, 400, 'Expected multipart Content-Type');
  }
  // The server strips the `<fmt>.` prefix (ComponentUploadUtils); file parts must look like `[fmt.]assetN`.
  const prefix = `${repo.format}.`;
  const unprefix = (k: string) => (k.startsWith(prefix) ? k.slice(prefix.length) : k);
  const fields = new Map<string, string>();
  const assets = new Map<string, { file: File; fields: Map<string, string> }>();
  const assetFields: [string, string][] = [];
  const errors: { id: string; message: string }[] = [];
  for (const [rawName, value] of form.entries()) {
    const name = unprefix(rawName);
    if (typeof value !== 'string') {
      if (!FILE_FIELD.test(rawName)) {
        errors.push({ id: name, message: `Unknown field '${name}'` });
        continue;
      }
      assets.set(name, { file: value, fields: new Map() });
    } else if (/^asset\d*\./.test(name)) {
      assetFields.push([name, value]);
    } else {
      fields.set(name, value);
    }
  }
  for (const [name, value] of assetFields) {
    const key = name.slice(0, name.indexOf('.'));
    const a = assets.get(key);
    if (!a) errors.push({ id: name, message: `Unknown field '${name.slice(key.length + 1)}' on asset '${key.replace(/^asset/, '')}'` });
    else a.fields.set(name.slice(key.length + 1), value);
  }
  if (!assets.size) errors.push({ id: '*', message: 'No assets found in upload' });
  if (errors.length) return sendJson(res, 400, errors);
  try {
    await handler.upload({
      double, repo, user: c.user, fields, assets,
      ensurePermitted(path) {
        if (!c.canWrite(repo.name)) throw new ValidationErrors([{ id: '*', message: `Not authorized for requested path '${path}'` }]);
      },
    });
  } catch (e) {
    if (e instanceof ValidationErrors) return sendJson(res, 400, e.errors);
    if (e instanceof WritePolicyError) return sendJson(res, 400, [{ id: '*', message: e.message }]);
    throw e;
  }
  return sendEmpty(res, 204);
}
