import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A simple-API upstream on 127.0.0.1 rendered from a folder of wheels (and their `.metadata` files):
 * PEP 691 JSON when the client asks for it by `Accept`, PEP 503 HTML otherwise, or HTML only (a static
 * host that cannot negotiate). PEP 658 metadata, HTTP ranges, yanking and tampered bytes can be switched
 * on per test. Every request is recorded.
 */
export interface IndexServerOptions {
  format: 'negotiate' | 'html';
  metadata: boolean;
  ranges: boolean;
  yanked: Set<string>;
  /** Files served with one byte changed (the index keeps the hash of the real file). */
  tamper: Set<string>;
  /** Files left out of the index, as if never uploaded. */
  hidden: Set<string>;
  /** Files whose `.metadata` is served with one byte changed (the index keeps the real hash). */
  tamperMetadata: Set<string>;
  /** When set, every request must carry `Authorization: Basic <this>` (else 401). */
  basicAuth?: string;
}

export interface IndexServer {
  url: string;
  indexUrl: string;
  options: IndexServerOptions;
  requests: { method: string; path: string; accept?: string; range?: string; authorization?: string; status: number }[];
  close(): Promise<void>;
}

const norm = (n: string) => n.replace(/[-_.]+/g, '-').toLowerCase();
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Entry {
  filename: string;
  project: string;
  bytes: Buffer;
  sha256: string;
  metadata?: Buffer;
  metadataSha256?: string;
  requiresPython?: string;
}

async function load(dir: string, opts: IndexServerOptions): Promise<Entry[]> {
  const names = (await readdir(dir)).filter((f) => (f.endsWith('.whl') || f.endsWith('.tar.gz')) && !opts.hidden.has(f)).sort();
  const out: Entry[] = [];
  for (const filename of names) {
    const bytes = await readFile(join(dir, filename));
    const metadata = await readFile(join(dir, filename + '.metadata')).catch(() => undefined);
    const requiresPython = metadata ? /^Requires-Python:\s*(.+)$/m.exec(metadata.toString('utf8'))?.[1].trim() : undefined;
    out.push({
      filename,
      // A wheel's name has no `-`; an sdist's name is everything before its last `-`.
      project: norm(filename.endsWith('.whl') ? filename.split('-')[0] : filename.replace(/\.tar\.gz$/, '').replace(/-[^-]*$/, '')),
      bytes,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      metadata,
      metadataSha256: metadata ? createHash('sha256').update(metadata).digest('hex') : undefined,
      requiresPython,
    });
  }
  return out;
}

function wantsJson(req: IncomingMessage): boolean {
  return /application\/vnd\.pypi\.simple\.v1\+json/.test(req.headers.accept ?? '');
}

export async function startIndexServer(dir: string, options: Partial<IndexServerOptions> = {}): Promise<IndexServer> {
  const opts: IndexServerOptions = { format: 'negotiate', metadata: true, ranges: false, yanked: new Set(), tamper: new Set(), hidden: new Set(), tamperMetadata: new Set(), ...options };
  const requests: IndexServer['requests'] = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const record = (status: number) => requests.push({ method: req.method ?? 'GET', path, accept: req.headers.accept, range: req.headers.range, authorization: req.headers.authorization, status });
    try {
      if (opts.basicAuth && req.headers.authorization !== `Basic ${opts.basicAuth}`) {
        record(401);
        res.writeHead(401, { 'www-authenticate': 'Basic realm="test index"' }).end();
        return;
      }
      const entries = await load(dir, opts);
      const json = opts.format === 'negotiate' && wantsJson(req);
      let m: RegExpExecArray | null;
      if (path === '/simple/') {
        const projects = [...new Set(entries.map((e) => e.project))];
        record(200);
        if (json) {
          res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' }).end(JSON.stringify({ meta: { 'api-version': '1.1' }, projects: projects.map((name) => ({ name })) }));
        } else {
          res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><body>${projects.map((p) => `<a href="${p}/">${p}</a>`).join('\n')}</body></html>`);
        }
        return;
      }
      if ((m = /^\/simple\/([^/]+)\/$/.exec(path))) {
        const project = m[1];
        const files = entries.filter((e) => e.project === project);
        if (files.length === 0 || project !== norm(project)) {
          record(404);
          res.writeHead(404, { 'content-type': 'text/plain' }).end('no such project\n');
          return;
        }
        record(200);
        if (json) {
          const body = {
            meta: { 'api-version': '1.1' },
            name: project,
            files: files.map((e) => ({
              filename: e.filename,
              url: `../../files/${encodeURIComponent(e.filename)}`,
              hashes: { sha256: e.sha256 },
              'requires-python': e.requiresPython ?? null,
              yanked: opts.yanked.has(e.filename) ? 'test: yanked' : false,
              ...(opts.metadata && e.metadata ? { 'core-metadata': { sha256: e.metadataSha256 } } : {}),
              size: e.bytes.length,
            })),
            versions: [...new Set(files.map((e) => e.filename.split('-')[1]))],
          };
          res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' }).end(JSON.stringify(body));
        } else {
          const links = files.map((e) => {
            let a = `<a href="../../files/${encodeURIComponent(e.filename)}#sha256=${e.sha256}"`;
            if (e.requiresPython) a += ` data-requires-python="${esc(e.requiresPython)}"`;
            if (opts.yanked.has(e.filename)) a += ' data-yanked="test: yanked"';
            if (opts.metadata && e.metadata) a += ` data-core-metadata="sha256=${e.metadataSha256}"`;
            return `${a}>${esc(e.filename)}</a><br/>`;
          });
          res.writeHead(200, { 'content-type': opts.format === 'html' ? 'text/html' : 'application/vnd.pypi.simple.v1+html' })
            .end(`<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0"></head><body>\n${links.join('\n')}\n</body></html>\n`);
        }
        return;
      }
      if ((m = /^\/files\/([^/]+)$/.exec(path))) {
        const name = m[1];
        const isMeta = name.endsWith('.metadata');
        const entry = entries.find((e) => e.filename === (isMeta ? name.slice(0, -'.metadata'.length) : name));
        let bytes = entry ? (isMeta ? (opts.metadata ? entry.metadata : undefined) : entry.bytes) : undefined;
        if (!entry || !bytes) {
          record(404);
          res.writeHead(404).end();
          return;
        }
        if ((!isMeta && opts.tamper.has(entry.filename)) || (isMeta && opts.tamperMetadata.has(entry.filename))) {
          bytes = Buffer.from(bytes);
          bytes[bytes.length >> 1] ^= 0xff;
        }
        const range = opts.ranges && !isMeta ? /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '') : null;
        if (range && (range[1] || range[2])) {
          const size = bytes.length;
          let start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
          let end = range[1] ? (range[2] ? Math.min(Number(range[2]), size - 1) : size - 1) : size - 1;
          if (start > end) [start, end] = [end, end];
          record(206);
          res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1, 'accept-ranges': 'bytes' });
          res.end(req.method === 'HEAD' ? undefined : bytes.subarray(start, end + 1));
          return;
        }
        record(200);
        res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' });
        res.end(req.method === 'HEAD' ? undefined : bytes);
        return;
      }
      record(404);
      res.writeHead(404).end();
    } catch (e) {
      record(500);
      res.writeHead(500).end(String(e));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    indexUrl: url + 'simple/',
    options: opts,
    requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
