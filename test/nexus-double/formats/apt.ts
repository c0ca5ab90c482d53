import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { sendEmpty, sendError } from '../respond.js';
import { serveAsset } from '../assets.js';
import { type FormatHandler, type RepositoryDef, type DoubleState, ValidationErrors } from '../types.js';
import { WritePolicyError } from '../storage.js';

/**
 * APT hosted (docs/reference/nexus-api.md §5): `POST /repository/<repo>/` takes the raw .deb as the body, Nexus reads
 * its control file and stores it at `pool/<first letter>/<pkg>/<pkg>_<ver>_<arch>.deb`
 * (AptFacetHelper.buildAssetPath) and answers 201. `POST …/rebuild-indexes` → 200; POST to any other
 * path → 405. Components API: a single `apt.asset` (AptUploadHandler). GET/HEAD serve stored assets.
 * Not modelled: the signed dists/ metadata Nexus regenerates (the apt publisher never reads it); the
 * answer to a body that is not a .deb is not in the reference: the double answers 400 with the reason.
 */
export const apt: FormatHandler = {
  format: 'apt',

  async handle({ double, repo, canWrite, req, res, path, user }) {
    const method = req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD') {
      return serveAsset(double, repo.name, path, req, res);
    }
    if (method !== 'POST') return sendError(res, 405);
    if (path === 'rebuild-indexes') return canWrite ? sendEmpty(res, 200) : sendError(res, 403);
    if (path !== '') return sendError(res, 405);
    if (!canWrite) return sendError(res, 403);
    // The handler reads the whole payload to parse the control file (docs/reference/nexus-api.md §5).
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      await store(double, repo, Buffer.concat(chunks), user?.username);
    } catch (e) {
      if (e instanceof WritePolicyError || e instanceof InvalidDeb) return sendError(res, 400, e.message);
      throw e;
    }
    return sendEmpty(res, 201);
  },

  async upload({ double, repo, user, fields, assets, ensurePermitted }) {
    const errors: { id: string; message: string }[] = [];
    for (const k of fields.keys()) errors.push({ id: k, message: `Unknown component field '${k}'` });
    for (const [key, a] of assets) {
      if (key !== 'asset') errors.push({ id: key, message: `Unknown asset '${key}'` });
      for (const f of a.fields.keys()) errors.push({ id: `${key}.${f}`, message: `Unknown field '${f}' on asset ''` });
    }
    if (errors.length) throw new ValidationErrors(errors);
    const a = assets.get('asset');
    if (!a) throw new ValidationErrors([{ id: '*', message: 'No assets found in upload' }]);
    const body = Buffer.from(await a.file.arrayBuffer());
    const c = control(body);
    ensurePermitted(assetPath(c));
    await store(double, repo, body, user?.username);
  },
};

class InvalidDeb extends Error {}

interface Control {
  Package: string;
  Version: string;
  Architecture: string;
}

function assetPath(c: Control): string {
  return `pool/${c.Package.slice(0, 1)}/${c.Package}/${c.Package}_${c.Version}_${c.Architecture}.deb`;
}

async function store(double: DoubleState, repo: RepositoryDef, body: Buffer, uploader: string | undefined) {
  const c = control(body);
  return double.storage.put(repo, assetPath(c), body, {
    contentType: 'application/vnd.debian.binary-package', uploader, component: { name: c.Package, version: c.Version },
  });
}

/** The control fields of a .deb: ar archive → control.tar[.gz|.xz] → ./control (deb(5)). */
function control(deb: Buffer): Control {
  if (deb.subarray(0, 8).toString('latin1') !== '!<arch>\n') throw new InvalidDeb('Invalid debian package: not an ar archive');
  let off = 8;
  while (off + 60 <= deb.length) {
    const name = deb.subarray(off, off + 16).toString('latin1').trim().replace(/\/$/, '');
    const size = Number(deb.subarray(off + 48, off + 58).toString('latin1').trim());
    const data = deb.subarray(off + 60, off + 60 + size);
    off += 60 + size + (size % 2);
    if (!name.startsWith('control.tar')) continue;
    let tar: Buffer;
    if (name === 'control.tar') tar = data;
    else if (name === 'control.tar.gz') tar = gunzipSync(data);
    else if (name === 'control.tar.xz') tar = execFileSync('xz', ['-dc'], { input: data, maxBuffer: 64 << 20 });
    else throw new InvalidDeb(`Invalid debian package: unsupported ${name}`);
    const text = fileInTar(tar, 'control');
    if (text === undefined) break;
    const fields = new Map<string, string>();
    for (const line of text.split('\n')) {
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1], m[2].trim());
    }
    const Package = fields.get('Package');
    const Version = fields.get('Version');
    const Architecture = fields.get('Architecture');
    if (!Package || !Version || !Architecture) throw new InvalidDeb("Invalid debian package: control file lacks Package, Version or Architecture");
    return { Package, Version, Architecture };
  }
  throw new InvalidDeb('Invalid debian package: no control file');
}

function fileInTar(tar: Buffer, want: string): string | undefined {
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) return undefined;
    const name = h.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
    const size = parseInt(h.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    if ((type === '0' || type === '\0') && name.replace(/^\.\//, '') === want) return tar.subarray(off + 512, off + 512 + size).toString('utf8');
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}
