import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Rgw } from '../harness/ceph-rgw.js';

/** The test's own S3 client (the AWS SDK, as an operator's `aws s3` would be), to set up and check buckets. */
export function s3Client(rgw: Rgw): S3Client {
  return new S3Client({
    endpoint: rgw.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: rgw.accessKey, secretAccessKey: rgw.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

export async function putObject(s3: S3Client, bucket: string, key: string, body: Buffer | string, contentType?: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}

/** A file of `size` random bytes, and its sha256. */
export async function randomFile(path: string, size: number): Promise<string> {
  const h = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, 1 << 20);
    const chunk = randomBytes(n);
    h.update(chunk);
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    left -= n;
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return h.digest('hex');
}

export async function uploadFile(s3: S3Client, bucket: string, key: string, path: string, contentType: string): Promise<void> {
  await new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: createReadStream(path), ContentType: contentType }, partSize: 8 << 20 }).done();
}

export interface Listed {
  key: string;
  size: number;
  lastModified: string;
  etag: string;
}

export async function listAll(s3: S3Client, bucket: string, prefix?: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 100 }));
    for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: Number(o.Size), lastModified: o.LastModified!.toISOString(), etag: o.ETag! });
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

export async function objectSha256(s3: S3Client, bucket: string, key: string): Promise<string> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const h = createHash('sha256');
  for await (const c of r.Body as Readable) h.update(c as Buffer);
  return h.digest('hex');
}

export async function head(s3: S3Client, bucket: string, key: string): Promise<{ contentType?: string; metadata: Record<string, string>; size: number }> {
  const r = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return { contentType: r.ContentType, metadata: r.Metadata ?? {}, size: Number(r.ContentLength) };
}

export async function multipartUploads(s3: S3Client, bucket: string): Promise<{ key: string; uploadId: string }[]> {
  const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (r.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
}
