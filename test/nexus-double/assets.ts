import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendEmpty, sendError } from './respond.js';
import type { DoubleState } from './types.js';

/**
 * GET/HEAD of a stored asset, as every hosted format's content handler answers it (nexus-api.md §9,
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
