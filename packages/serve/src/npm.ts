import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Packument, isValidName, tarballFileName } from '@airgap/npm';
import { type MirrorRoot, UnsafePath, pathSegments } from './confined.js';
import { notFound, sendFile, sendJson } from './respond.js';

const SCOPED_TARBALL = /^((?:@[^/]+\/)?[^/@][^/]*)\/-\/([^/]+\.tgz)$/;

/**
 * The npm registry read API over the mirror's `npm/` folder (docs/npm.md, docs/serve.md): packuments
 * by name in every encoding npm sends (`@scope/name`, `@scope%2fname`, `@scope%2Fname`), each
 * version's `dist.tarball` rewritten to this server (whatever base the mirror was written with: the
 * placeholder or `npm.baseUrl`), and the tarballs, at the mirror's `-/<name>/<file>.tgz` and at the
 * registry's usual `<name>/-/<file>.tgz`.
 */
export async function handleNpm(req: IncomingMessage, res: ServerResponse, root: MirrorRoot, rest: string, npmBase: string): Promise<void> {
  const head = req.method === 'HEAD';
  if (rest.startsWith('-/') || SCOPED_TARBALL.test(rest)) {
    const m = SCOPED_TARBALL.exec(rest);
    const segments = m ? ['-', ...pathSegments(m[1]), ...pathSegments(m[2])] : pathSegments(rest);
    if (!segments[segments.length - 1].endsWith('.tgz')) return notFound(res, head);
    const file = await root.openFile(['npm', ...segments]);
    if (!file) return notFound(res, head);
    return sendFile(req, res, file, 'application/octet-stream');
  }
  let name: string;
  try {
    name = decodeURIComponent(rest);
  } catch {
    throw new UnsafePath('bad percent-encoding in the package name');
  }
  if (!isValidName(name) || name.includes('..') || name.includes('\\')) return sendJson(res, 404, { error: 'not found' }, {}, head);
  const text = await root.readText(['npm', ...pathSegments(name.split('/').map(encodeURIComponent).join('/'))]);
  if (text === undefined) return sendJson(res, 404, { error: 'not found' }, {}, head);
  const doc = JSON.parse(text) as Packument;
  for (const [v, manifest] of Object.entries(doc.versions ?? {})) {
    manifest.dist = { ...manifest.dist, tarball: `${npmBase}-/${name}/${tarballFileName(name, v)}` };
  }
  return sendJson(res, 200, doc, {}, head);
}
