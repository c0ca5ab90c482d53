import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { VersionManifest } from './packument.js';

export interface PublishDocumentInput {
  name: string;
  manifest: VersionManifest;
  /** `dist.tarball` as the target will serve it. */
  tarballUrl: string;
  distTags: Record<string, string>;
  /** Extra top-level fields (a 409 retry merges the target's document: `_rev`, other versions). */
  base?: Record<string, unknown>;
  tarballSize: number;
  /** The original tarball bytes, opened anew for each attempt. */
  openTarball(): Readable;
}

/**
 * The npm publish document (npm/cli workspaces/libnpmpublish/lib/publish.js, docs/reference/repo-formats.md §6):
 * `versions.<v>` is the upstream manifest with `dist.tarball` pointing at the target, and
 * `_attachments["<name>-<v>.tgz"].data` is the tarball in base64. The JSON is produced as a stream so
 * memory stays bounded per tarball: the text around `data` is fixed, the base64 is encoded on the fly.
 */
export function publishDocument(input: PublishDocumentInput): { length: number; open(): Readable } {
  const { name, manifest } = input;
  const v = manifest.version;
  const attachment = `${name}-${v}.tgz`;
  const marker = `airgap-data-${randomBytes(12).toString('hex')}`;
  const base = input.base ?? {};
  const doc = {
    ...base,
    _id: name,
    name,
    ...(manifest.description !== undefined ? { description: manifest.description } : {}),
    'dist-tags': { ...((base['dist-tags'] as Record<string, string> | undefined) ?? {}), ...input.distTags },
    versions: {
      ...((base.versions as Record<string, unknown> | undefined) ?? {}),
      [v]: { ...manifest, _id: `${name}@${v}`, dist: { ...manifest.dist, tarball: input.tarballUrl } },
    },
    _attachments: {
      [attachment]: { content_type: 'application/octet-stream', data: marker, length: input.tarballSize },
    },
  };
  const text = JSON.stringify(doc);
  const at = text.indexOf(`"${marker}"`);
  const head = Buffer.from(text.slice(0, at + 1));
  const tail = Buffer.from(text.slice(at + marker.length + 1));
  const length = head.length + 4 * Math.ceil(input.tarballSize / 3) + tail.length;
  return {
    length,
    open: () => Readable.from(stream(head, tail, input.openTarball())),
  };
}

async function* stream(head: Buffer, tail: Buffer, tarball: Readable): AsyncGenerator<Buffer> {
  yield head;
  let carry = Buffer.alloc(0);
  for await (const chunk of tarball) {
    const buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    const whole = buf.length - (buf.length % 3);
    if (whole) yield Buffer.from(buf.subarray(0, whole).toString('base64'));
    carry = Buffer.from(buf.subarray(whole));
  }
  if (carry.length) yield Buffer.from(carry.toString('base64'));
  yield tail;
}
