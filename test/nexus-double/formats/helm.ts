import { sendError } from '../respond.js';
import { deleteAsset, serveAsset, storeAsset } from '../assets.js';
import type { FormatHandler } from '../types.js';

/**
 * Helm hosted (docs/reference/nexus-api.md §4, HelmHostedRecipe / HostedHandlers): `PUT /<file>.tgz` and `PUT /<file>.prov`
 * (path pattern `/{filename}.{tgz|prov}`) → 200; since 3.71 uploads must go to the repository root, so a
 * path with folders is refused (400). GET/HEAD → 200/404, DELETE → 204/404, other methods 405.
 * Not modelled: the regenerated `/index.yaml` (Nexus reads Chart.yaml inside the .tgz to build it) →
 * 404 here; the ChartMuseum `api/charts` upload, which the reference marks UNCERTAIN.
 * Nexus takes the component name and version from Chart.yaml; the double takes them from the file name
 * `<name>-<version>.tgz`, which is what `helm package` writes and airgap uploads.
 */
export const helm: FormatHandler = {
  format: 'helm',

  async handle({ double, repo, canWrite, req, res, path, user }) {
    const method = req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD') {
      return serveAsset(double, repo.name, path, req, res);
    }
    if (method === 'PUT') {
      if (!canWrite) return sendError(res, 403);
      if (!/^[^/]+\.(tgz|prov)$/.test(path)) {
        req.resume();
        return sendError(res, 400, `Invalid path for a helm upload: /${path} (charts go to the repository root as <name>-<version>.tgz)`);
      }
      return storeAsset(double, repo, path, req, res, { contentType: path.endsWith('.tgz') ? 'application/x-tgz' : 'text/plain', uploader: user?.username, component: chartComponent(path) }, 200);
    }
    if (method === 'DELETE') {
      return deleteAsset(double, repo.name, path, canWrite, res);
    }
    req.resume();
    return sendError(res, 405);
  },
};

function chartComponent(path: string) {
  const file = path.replace(/\.prov$/, '').replace(/\.tgz$/, '');
  const m = /^(.+?)-(\d+\.\d+\.\d+.*)$/.exec(file);
  return m ? { name: m[1], version: m[2] } : { name: file };
}
