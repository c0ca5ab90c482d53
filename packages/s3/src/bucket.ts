import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type Presence, TargetError } from '@airgap/core';
import type { S3Connection } from './connection.js';

/** The object metadata (`x-amz-meta-sha256`) that records the sha256 of what airgap stored under a key. */
export const SHA256_METADATA = 'sha256';

/** What to store under one key, as the signed index describes it. */
export interface S3Item {
  /** The object key, the target's prefix included. */
  key: string;
  size: number;
  /** Hex sha256 of the bytes. */
  sha256: string;
  /** Names the artifact in messages (`file backups/b1/velero-backup.json`). */
  label: string;
}

/**
 * A bucket (and key prefix) at an S3 target: `services.s3` in a PublishContext for `type: s3` targets
 * (docs/backups.md). Presence is the same key with the same size and sha256; a different object under the
 * key is a failure that names it, and it is never overwritten.
 */
export class S3Bucket {
  constructor(
    readonly connection: S3Connection,
    readonly bucket: string,
    readonly prefix: string,
  ) {}

  key(path: string): string {
    return this.prefix + path;
  }

  url(key: string): string {
    return this.connection.url(this.bucket, key);
  }

  async presence(item: S3Item): Promise<Presence> {
    const head = await this.connection.head(this.bucket, item.key, 'target');
    if (!head) return 'absent';
    let stored = head.metadata[SHA256_METADATA];
    if (head.size === item.size && stored === undefined) {
      // An object someone else put there (no sha256 of ours): its bytes decide, read once, never rewritten.
      const { body } = await this.connection.get(this.bucket, item.key, 'target');
      stored = await sha256Of(body);
    }
    if (head.size === item.size && stored === item.sha256) return 'present';
    throw new TargetError(
      `${this.url(item.key)} already holds a different object (${head.size} bytes${stored ? `, sha256 ${stored}` : ''}) than ${item.label} (${item.size} bytes, sha256 ${item.sha256}); it was not overwritten`,
      { subject: this.url(item.key), hint: 'airgap never overwrites an object: move or delete the old one if the new one is meant to replace it, or unpack into another prefix' },
    );
  }

  /** Upload `body` under the key; unfinished multipart uploads of the same key an earlier run left are aborted first. */
  async store(item: S3Item, body: Readable, opts: { contentType: string; onBytes?: (n: number) => void }): Promise<void> {
    await this.connection.abortStaleUploads(this.bucket, item.key);
    await this.connection.upload(this.bucket, item.key, body, {
      size: item.size,
      contentType: opts.contentType,
      metadata: { [SHA256_METADATA]: item.sha256 },
      onBytes: opts.onBytes,
    });
  }
}

async function sha256Of(body: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of body) h.update(chunk as Buffer);
  return h.digest('hex');
}
