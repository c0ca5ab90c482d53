import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Descriptor, isDigest } from '@airgap/core';
import { OCI_INDEX, OCI_MANIFEST, parseImageRef, targetRepository } from '@airgap/oci';
import type { MirrorRoot } from './confined.js';
import { type Headers, sendFile, sendJson } from './respond.js';

/**
 * The OCI distribution pull API over the mirror's `oci/` image layout (docs/serve.md, docs/oci.md
 * "Names at the target"). A layout entry `127.0.0.1:5000/team/app:1` is served as repository
 * `127.0.0.1_5000/team/app`, tag `1`, the names `unpack` gives images at a registry target.
 */

const REF_NAME = 'org.opencontainers.image.ref.name';
const API_VERSION = { 'docker-distribution-api-version': 'registry/2.0' };
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

interface Repository {
  tags: Map<string, Descriptor>;
}

/** The layout's index.json as served names; re-read when the file changes (a later unpack). */
class LayoutNames {
  private stamp = '';
  private repos = new Map<string, Repository>();

  constructor(private readonly root: MirrorRoot) {}

  async load(): Promise<Map<string, Repository>> {
    const f = await this.root.openFile(['oci', 'index.json']);
    if (!f) {
      this.repos = new Map();
      this.stamp = '';
      return this.repos;
    }
    let text: string | undefined;
    try {
      const stamp = `${f.size}:${f.mtime.getTime()}`;
      if (stamp === this.stamp) return this.repos;
      text = await f.handle.readFile('utf8');
      this.stamp = stamp;
    } finally {
      await f.handle.close();
    }
    const repos = new Map<string, Repository>();
    let doc: { manifests?: Descriptor[] };
    try {
      doc = JSON.parse(text) as { manifests?: Descriptor[] };
    } catch {
      doc = {};
    }
    for (const m of doc.manifests ?? []) {
      const refName = m.annotations?.[REF_NAME];
      if (!refName || !isDigest(m.digest)) continue;
      let ref;
      try {
        ref = parseImageRef(refName);
      } catch {
        continue; // not one of ours (an entry another tool added); not served
      }
      const name = targetRepository(ref.registry, ref.repository);
      const repo = repos.get(name) ?? { tags: new Map() };
      repos.set(name, repo);
      if (ref.tag) repo.tags.set(ref.tag, m);
    }
    this.repos = repos;
    return repos;
  }
}

/**
 * The repository a request means. containerd asks a mirror for `/v2/<repo>/…?ns=<upstream host>`
 * (its hosts.toml mirror form): that is `<host>/<repo>` here, with Docker Hub's rules (`nginx` →
 * `library/nginx`, its API host aliases → `docker.io`). A path that already starts with the host
 * segment (hosts.toml with `override_path`, or a client that names the mirror's form) is taken as is.
 */
export function mirrorRepository(path: string, ns: string | null): string {
  if (!ns) return path;
  let host = ns.toLowerCase();
  let repo = path;
  if (DOCKER_HUB_ALIASES.has(host)) {
    host = 'docker.io';
    if (!repo.includes('/')) repo = `library/${repo}`;
  }
  const seg = targetRepository(host, '').slice(0, -1);
  if (path.startsWith(seg + '/')) return path;
  return `${seg}/${repo}`;
}

function ociError(res: ServerResponse, status: number, code: string, message: string, head: boolean, detail?: unknown): void {
  sendJson(res, status, { errors: [{ code, message, detail: detail ?? {} }] }, API_VERSION, head);
}

/** The media type of a manifest blob: its own `mediaType`, else what its fields say (OCI allows it absent). */
function manifestType(text: string): string {
  const doc = JSON.parse(text) as { mediaType?: string; manifests?: unknown };
  if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  return Array.isArray(doc.manifests) ? OCI_INDEX : OCI_MANIFEST;
}

export class OciRoutes {
  private readonly names: LayoutNames;

  constructor(private readonly root: MirrorRoot) {
    this.names = new LayoutNames(root);
  }

  /** `rest` is the path after `/v2/`, still percent-encoded. */
  async handle(req: IncomingMessage, res: ServerResponse, rest: string, query: URLSearchParams): Promise<void> {
    const head = req.method === 'HEAD';
    if (rest === '') return sendJson(res, 200, {}, API_VERSION, head);
    const repos = await this.names.load();
    if (rest === '_catalog') {
      const all = [...repos.keys()].sort();
      const n = Number(query.get('n') ?? all.length);
      const last = query.get('last');
      const from = last ? all.filter((r) => r > last) : all;
      const page = from.slice(0, Number.isFinite(n) && n >= 0 ? n : all.length);
      const more = page.length < from.length;
      return sendJson(res, 200, { repositories: page }, { ...API_VERSION, ...(more ? { link: `</v2/_catalog?n=${n}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"` } : {}) }, head);
    }
    const m = /^(.+)\/(manifests|blobs)\/([^/]+)$/.exec(rest) ?? /^(.+)\/(tags)\/list$/.exec(rest);
    if (!m) return ociError(res, 404, 'NAME_UNKNOWN', 'no such API path', head);
    const path = m[1];
    if (!path.split('/').every((c) => COMPONENT.test(c))) return ociError(res, 400, 'NAME_INVALID', 'invalid repository name', head, { name: path });
    const name = mirrorRepository(path, query.get('ns'));
    const repo = repos.get(name);
    if (!repo) return ociError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry', head, { name });
    if (m[2] === 'tags') {
      const tags = [...repo.tags.keys()].sort();
      return sendJson(res, 200, { name, tags }, API_VERSION, head);
    }
    const ref = decodeURIComponent(m[3]);
    if (m[2] === 'blobs') {
      if (!isDigest(ref)) return ociError(res, 400, 'DIGEST_INVALID', 'invalid digest', head, { digest: ref });
      const file = await this.root.openFile(['oci', 'blobs', 'sha256', ref.slice(7)]);
      if (!file) return ociError(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry', head, { digest: ref });
      return sendFile(req, res, file, 'application/octet-stream', { ...API_VERSION, 'docker-content-digest': ref, etag: `"${ref}"` });
    }
    let digest: string;
    let type: string | undefined;
    if (isDigest(ref)) digest = ref;
    else if (TAG.test(ref) && repo.tags.has(ref)) {
      const d = repo.tags.get(ref)!;
      digest = d.digest;
      type = d.mediaType;
    } else return ociError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown', head, { tag: ref });
    const segments = ['oci', 'blobs', 'sha256', digest.slice(7)];
    if (!type) {
      const text = await this.root.readText(segments, 4 << 20).catch(() => undefined);
      if (text === undefined) return ociError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown', head, { digest });
      try {
        type = manifestType(text);
      } catch {
        return ociError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown', head, { digest });
      }
    }
    const file = await this.root.openFile(segments);
    if (!file) return ociError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown', head, { digest });
    const headers: Headers = { ...API_VERSION, 'docker-content-digest': digest, etag: `"${digest}"` };
    return sendFile(req, res, file, type, headers);
  }
}
