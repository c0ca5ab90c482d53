import { failStatus, header } from '@airgap/core';
import type { RegistryClient } from './registry.js';

/**
 * Every tag of a repository: `GET /v2/<repo>/tags/list?n=<pageSize>`, following `Link: <…>; rel="next"`
 * pages, or `last=<final tag>` when a full page comes without a Link (distribution spec,
 * docs/reference/repo-formats.md §1); [] when the registry does not know the repository.
 */
export async function listTags(client: RegistryClient, repo: string, opts: { pageSize?: number } = {}): Promise<string[]> {
  const n = opts.pageSize ?? 100;
  const tags: string[] = [];
  let next: URL | undefined;
  let last: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const path = `${repo}/tags/list?n=${n}${last === undefined ? '' : `&last=${encodeURIComponent(last)}`}`;
    const res = await client.request(repo, path, { absolute: next });
    if (res.status === 404) {
      await res.body.dump();
      return tags;
    }
    if (res.status !== 200) await failStatus(res, 'GET', client.side);
    const doc = (await res.body.json()) as { tags?: unknown };
    const got = Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === 'string') : [];
    tags.push(...got);
    const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res, 'link') ?? '')?.[1];
    if (link) {
      next = new URL(link, res.url);
      continue;
    }
    // No Link: a short page is the last one; a full one is followed with last= (never the same tag twice).
    if (got.length < n || got.at(-1) === last) break;
    next = undefined;
    last = got.at(-1);
  }
  return [...new Set(tags)];
}

/**
 * The repositories the registry lists (`GET /v2/_catalog`, first page only), for the nearest names of one
 * it does not have (docs/exit-codes.md). Many registries restrict the catalog: any refusal gives [].
 */
export async function listRepositories(client: RegistryClient, repo: string): Promise<string[]> {
  try {
    const res = await client.request(repo, '_catalog?n=1000', { retry: false });
    if (res.status !== 200) {
      await res.body.dump();
      return [];
    }
    const doc = (await res.body.json()) as { repositories?: unknown };
    return Array.isArray(doc.repositories) ? doc.repositories.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}
