import { posix } from 'node:path';
import { sendError, sendJson } from '../respond.js';
import type { DoubleState, FormatHandler } from '../types.js';
import { WritePolicyError } from '../storage.js';

/**
 * npm hosted (docs/reference/nexus-api.md §8): `PUT /repository/<repo>/<name>` (scoped `@scope%2fname`) with the npm
 * publish document; each `_attachments` entry is matched to its version by tarball name and stored at
 * `<name>/-/<basename>-<version>.tgz` (NpmPublishParser, NpmHostedFacetImpl); reply 200
 * `{"success":true}`, errors 400/404 `{"success":false,"error":"…"}` (NpmResponses). `GET <name>` is the
 * packument the repository builds from what it holds, tarball URLs on this server. A version already
 * stored is refused by the write policy (ALLOW_ONCE → 400) like any asset. The double buffers the
 * document (Nexus streams it); dist-tags given in a publish are merged, `latest` defaulting to the first
 * version published. Unpublish and the dist-tag API (§8: CONFLICT in the reference) are not modelled.
 */
interface Packument {
  name: string;
  'dist-tags': Record<string, string>;
  versions: Record<string, Record<string, unknown> & { dist?: Record<string, unknown> }>;
}

const packuments = new WeakMap<DoubleState, Map<string, Packument>>();
function docs(double: DoubleState, repo: string): Map<string, Packument> {
  let byRepo = packuments.get(double);
  if (!byRepo) packuments.set(double, (byRepo = new Map()));
  return byRepo;
}

const key = (repo: string, name: string) => `${repo}\0${name}`;
const basename = (name: string) => name.slice(name.lastIndexOf('/') + 1);

export const npm: FormatHandler = {
  format: 'npm',

  async handle({ double, repo, canWrite, req, res, path, user }) {
    const method = req.method ?? 'GET';
    const store = docs(double, repo.name);
    const tarball = /^(.+)\/-\/([^/]+\.tgz)$/.exec(path);
    if ((method === 'GET' || method === 'HEAD') && tarball) {
      const asset = double.storage.get(repo.name, path);
      if (!asset) return sendError(res, 404);
      res.writeHead(200, { 'content-type': 'application/x-tgz', 'content-length': asset.size });
      if (method === 'HEAD') return void res.end();
      double.storage.open(asset).pipe(res);
      return;
    }
    const name = path;
    if (method === 'GET' || method === 'HEAD') {
      const doc = store.get(key(repo.name, name));
      if (!doc) return sendJson(res, 404, { success: false, error: 'Not found' });
      return sendJson(res, 200, doc);
    }
    if (method !== 'PUT') return sendError(res, 405);
    if (!canWrite) return sendError(res, 403);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: { name?: string; versions?: Record<string, Record<string, unknown>>; 'dist-tags'?: Record<string, string>; _attachments?: Record<string, { data?: string }> };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return sendJson(res, 400, { success: false, error: 'Invalid JSON' });
    }
    if (body.name !== name || !body.versions || !body._attachments) return sendJson(res, 400, { success: false, error: 'Invalid package' });
    const doc = store.get(key(repo.name, name)) ?? { name, 'dist-tags': {}, versions: {} };
    for (const [file, att] of Object.entries(body._attachments)) {
      const version = Object.keys(body.versions).find((v) => posix.basename(file) === `${basename(name)}-${v}.tgz`);
      if (!version || typeof att.data !== 'string') return sendJson(res, 400, { success: false, error: `Attachment ${file} matches no version` });
      const assetPath = `${name}/-/${basename(name)}-${version}.tgz`;
      try {
        await double.storage.put(repo, assetPath, Buffer.from(att.data, 'base64'), { contentType: 'application/x-tgz', uploader: user?.username, component: { name, version } });
      } catch (e) {
        if (e instanceof WritePolicyError) return sendError(res, 400, e.message);
        throw e;
      }
      doc.versions[version] = { ...body.versions[version], dist: { ...(body.versions[version].dist as Record<string, unknown>), tarball: `${double.url}repository/${repo.name}/${assetPath}` } };
      if (!doc['dist-tags'].latest) doc['dist-tags'].latest = version;
    }
    Object.assign(doc['dist-tags'], body['dist-tags'] ?? {});
    store.set(key(repo.name, name), doc);
    return sendJson(res, 200, { success: true });
  },
};
