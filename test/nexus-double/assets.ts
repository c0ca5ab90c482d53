import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendEmpty, sendError } from './respond.js';
import type { DoubleState, RepositoryDef } from './types.js';
import { type PutOptions, WritePolicyError } from './storage.js';

/**
 * GET/HEAD of a stored asset, as every hosted format's content handler answers it (docs/reference/nexus-api.md §9,
 * §10): 200 with the stored content type, length, Last-Modified and an ETag from the sha1; 404 when
 * there is no asset at the path.
 */
export function serveAsset(double: DoubleState, repo: string, path: string, req: IncomingMessage, res: ServerResponse): void {
  const asset = path ? double.storage.get(repo, path) : undefined;
  if (!asset) return sendError(res, 404);
  res.writeHead(200, {
    'content-type': asset.contentType,
    'content-length': asset.size,
    'last-modified': new Date(asset.lastModified).toUTCString(),
    etag: `"${asset.checksum.sha1}"`,
  });
  if (req.method === 'HEAD') return void res.end();
  double.storage.open(asset).pipe(res);
}

/** DELETE of a stored asset: 403 without write permission, 204 when deleted, 404 when absent. */
export async function deleteAsset(double: DoubleState, repo: string, path: string, canWrite: boolean, res: ServerResponse): Promise<void> {
  if (!canWrite) return sendError(res, 403);
  return (await double.storage.delete(repo, path)) ? sendEmpty(res, 204) : sendError(res, 404);
}

/**
 * A PUT of a hosted format: store the body, then answer `okStatus` (raw 201, helm/yum 200). A write-policy
 * refusal (ALLOW_ONCE on an existing asset, DENY) is a 400 with Nexus's message (docs/reference/nexus-api.md §11).
 */
export async function storeAsset(double: DoubleState, repo: RepositoryDef, path: string, req: IncomingMessage, res: ServerResponse, opts: PutOptions, okStatus: number): Promise<void> {
  try {
    await double.storage.put(repo, path, req, opts);
  } catch (e) {
    if (e instanceof WritePolicyError) return sendError(res, 400, e.message);
    throw e;
  }
  sendEmpty(res, okStatus);
}
