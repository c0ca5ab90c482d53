import { posix } from 'node:path';
import { sendError } from '../respond.js';
import { deleteAsset, serveAsset, storeAsset } from '../assets.js';
import { type FormatHandler, type RepositoryDef, ValidationErrors } from '../types.js';

/**
 * YUM hosted (docs/reference/nexus-api.md §6): `PUT /repository/<repo>/<dirs>/<file>.rpm`; RPMs shallower than the
 * repository's Repodata Depth (attribute `yum.repodataDepth`, 0–5) are rejected; deploy policy STRICT
 * (attribute `yum.deployPolicy`, the default here) only takes RPM and yum-metadata paths. UNVERIFIED in
 * the reference and chosen here: the PUT answers 200, and the rejections are 400 with the message in the
 * status line (sendError, as the other format endpoints). Nexus generates repodata about 60 s after an
 * upload; the double generates none (tests check uploads, not Nexus's metadata generator).
 * Components API: `yum.asset`, `yum.asset.filename`, `yum.directory` (§2).
 */
function settings(repo: RepositoryDef): { depth: number; strict: boolean } {
  const y = (repo.attributes?.yum ?? {}) as { repodataDepth?: number; deployPolicy?: string };
  return { depth: y.repodataDepth ?? 0, strict: (y.deployPolicy ?? 'STRICT') === 'STRICT' };
}

/** Why Nexus would refuse an upload at `path`, or undefined. */
function refusal(repo: RepositoryDef, path: string): string | undefined {
  const { depth, strict } = settings(repo);
  const isRpm = path.endsWith('.rpm');
  if (strict && !isRpm && !/(^|\/)repodata\/[^/]+$/.test(path)) return `Invalid path for a STRICT yum repository: /${path}`;
  const dirs = path.split('/').length - 1;
  if (isRpm && dirs < depth) return `RPM /${path} is ${dirs} directories deep; the repository's repodata depth is ${depth}`;
  return undefined;
}

// name-version-release.arch.rpm; the component is the package name and version-release.
function rpmComponent(path: string) {
  const m = /^(.+)-([^-]+)-([^-]+)\.([^.]+)\.rpm$/.exec(posix.basename(path));
  return m ? { group: posix.dirname(path), name: m[1], version: `${m[2]}-${m[3]}` } : { name: posix.basename(path) };
}

export const yum: FormatHandler = {
  format: 'yum',

  async handle({ double, repo, canWrite, req, res, path, user }) {
    const method = req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD') {
      return serveAsset(double, repo.name, path, req, res);
    }
    if (method === 'PUT') {
      if (!canWrite) return sendError(res, 403);
      const why = refusal(repo, path);
      if (why) {
        req.resume();
        return sendError(res, 400, why);
      }
      return storeAsset(double, repo, path, req, res, { contentType: 'application/x-rpm', uploader: user?.username, component: rpmComponent(path) }, 200);
    }
    if (method === 'DELETE') {
      return deleteAsset(double, repo.name, path, canWrite, res);
    }
    return sendError(res, 405);
  },

  async upload({ double, repo, user, fields, assets, ensurePermitted }) {
    const errors: { id: string; message: string }[] = [];
    for (const k of fields.keys()) if (k !== 'directory') errors.push({ id: k, message: `Unknown component field '${k}'` });
    const a = assets.get('asset');
    for (const k of assets.keys()) if (k !== 'asset') errors.push({ id: k, message: `Unknown asset '${k}'` });
    if (!a) errors.push({ id: '*', message: 'No assets found in upload' });
    else {
      for (const f of a.fields.keys()) if (f !== 'filename') errors.push({ id: `asset.${f}`, message: `Unknown field '${f}' on asset ''` });
      if (!a.fields.get('filename')) errors.push({ id: 'asset.filename', message: "Missing required asset field 'Filename'" });
    }
    if (errors.length) throw new ValidationErrors(errors);
    const path = posix.join((fields.get('directory') ?? '').replace(/^\/+|\/+$/g, ''), a!.fields.get('filename')!);
    const why = refusal(repo, path);
    if (why) throw new ValidationErrors([{ id: '*', message: why }]);
    ensurePermitted(path);
    await double.storage.put(repo, path, Buffer.from(await a!.file.arrayBuffer()), { contentType: 'application/x-rpm', uploader: user?.username, component: rpmComponent(path) });
  },
};
