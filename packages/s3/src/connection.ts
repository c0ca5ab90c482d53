import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { S3Client } from '@aws-sdk/client-s3';
import { type AirgapConfig, type Logger, type S3Settings, UsageError, readEnv, silentLogger } from '@airgap/core';
import { checkTransport } from '@airgap/nexus';
import { type S3Side, s3Failure } from './failure.js';

/** One object of a listing (ListObjectsV2). */
export interface S3Listed {
  key: string;
  size: number;
  etag?: string;
  lastModified?: Date;
}

/** What HEAD or GET says about one object. */
export interface S3ObjectInfo {
  size: number;
  etag?: string;
  contentType?: string;
  lastModified?: Date;
  /** `x-amz-meta-*`, names lower-cased by the service. */
  metadata: Record<string, string>;
}

/** A GET's answer: 200, or 206 with `contentRange` for a range; `info.size` is the length of this body. */
export interface S3Read {
  status: number;
  contentRange?: string;
  body: Readable;
  info: S3ObjectInfo;
}

/**
 * Objects at or below this size are sent with one PutObject, larger ones as a multipart upload in parts
 * of this size (at least; a part size that keeps a huge object under S3's 10,000 parts). Each part is
 * buffered while it is sent (at most PART_QUEUE parts at once), never the whole object: 16 MiB × 2 keeps
 * an upload's memory near 48 MiB (docs/design.md's 256 MiB budget) while a part is still large enough that the
 * per-part request overhead does not show on a LAN.
 */
export const MULTIPART_PART_SIZE = 16 * 1024 * 1024;
const PART_QUEUE = 2;
const MAX_PARTS = 10_000;

type Sdk = typeof import('@aws-sdk/client-s3');
let sdkModule: Promise<Sdk> | undefined;
/**
 * The AWS SDK is loaded on first use, not when the CLI starts: `airgap --version`, and every run without
 * an S3 source or target, never pays for it (docs/backups.md).
 */
function sdk(): Promise<Sdk> {
  // The SDK warns on stderr that its releases after January 2027 need Node 22; that is about updating the
  // SDK, not about this run, and it would land in every cron mail. The version this build ships works.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return (sdkModule ??= import('@aws-sdk/client-s3'));
}

/**
 * One configured S3 service (config `s3.<name>`, docs/config.md): SigV4 with the keys from the named
 * environment variables, TLS verification always on (with `caFile` added to the system roots), path-style
 * addressing by default. Every error names the service, the bucket/key and, for a refusal of the
 * credentials, the environment variables they came from; the secret itself is registered with the scrubber
 * and never appears in a message.
 */
export class S3Connection {
  readonly secrets: string[];
  private client?: Promise<S3Client>;

  private constructor(
    readonly name: string,
    readonly settings: S3Settings,
    readonly endpoint: URL,
    private readonly accessKey: string,
    private readonly secretKey: string,
    private readonly config: AirgapConfig,
    private readonly log: Logger,
  ) {
    this.secrets = [secretKey];
  }

  /** `where` names what asked for it in errors, e.g. `files[2] (s3://velero/)` or `targets.dr`. */
  static open(name: string, config: AirgapConfig, env: NodeJS.ProcessEnv, where: string, log: Logger = silentLogger): S3Connection {
    const settings = config.s3?.[name];
    if (!settings) {
      const known = Object.keys(config.s3 ?? {});
      throw new UsageError(`${where}: no S3 connection named ${JSON.stringify(name)} in the config`, {
        subject: where,
        hint: known.length ? `configured under s3: ${known.join(', ')}` : 'add it under s3: in the config (endpoint, accessKeyEnv, secretKeyEnv; docs/config.md)',
      });
    }
    const endpoint = checkTransport(settings.endpoint, `s3.${name}.endpoint`, config);
    const { key, secret } = readEnv<'key' | 'secret'>({ key: settings.accessKeyEnv, secret: settings.secretKeyEnv }, env, `s3.${name}`, { secret: ['secret'], what: 'the S3 access key and secret key' });
    return new S3Connection(name, settings, endpoint, key!, secret!, config, log);
  }

  /** `s3://bucket/key` as messages and the index name an object. */
  url(bucket: string, key = ''): string {
    return `s3://${bucket}/${key}`;
  }

  private async s3(): Promise<S3Client> {
    return (this.client ??= this.makeClient());
  }

  private async makeClient(): Promise<S3Client> {
    const { S3Client } = await sdk();
    let ca: string[] | undefined;
    const caFile = this.settings.caFile ?? this.config.http?.caFile;
    if (caFile) {
      try {
        // A caFile adds trust to the system roots; it does not replace them (as packages/core http.ts).
        ca = [...rootCertificates, readFileSync(caFile, 'utf8')];
      } catch (e) {
        throw new UsageError(`s3.${this.name}.caFile: cannot read ${caFile}`, { subject: caFile, cause: e });
      }
    }
    const timeout = this.config.http?.timeoutMs ?? 60_000;
    return new S3Client({
      endpoint: this.endpoint.toString().replace(/\/$/, ''),
      region: this.settings.region ?? 'us-east-1',
      forcePathStyle: this.settings.pathStyle ?? true,
      credentials: { accessKeyId: this.accessKey, secretAccessKey: this.secretKey },
      maxAttempts: (this.config.http?.retries ?? 4) + 1,
      // The SDK's default CRC32 trailers (aws-chunked uploads) are not understood by Ceph RGW before Reef;
      // integrity is the sha256 we check ourselves on both sides (docs/backups.md).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        httpAgent: new HttpAgent({ keepAlive: true }),
        httpsAgent: new HttpsAgent({ keepAlive: true, ca, rejectUnauthorized: true }),
        connectionTimeout: Math.min(timeout, 30_000),
        requestTimeout: timeout,
      },
    });
  }

  private async call<T>(side: S3Side, what: string, subject: string, fn: (client: S3Client, sdk: Sdk) => Promise<T>): Promise<T> {
    const [client, mod] = await Promise.all([this.s3(), sdk()]);
    try {
      return await fn(client, mod);
    } catch (e) {
      throw s3Failure(e, { side, what, subject, connection: this });
    }
  }

  /** Every object under `prefix`, in key order (ListObjectsV2, every page). */
  async *list(bucket: string, prefix: string, side: S3Side = 'upstream'): AsyncGenerator<S3Listed> {
    let token: string | undefined;
    do {
      const page = await this.call(side, 'list', this.url(bucket, prefix), (c, m) =>
        c.send(new m.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: o.Key, size: Number(o.Size ?? 0), etag: o.ETag, lastModified: o.LastModified };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** HEAD: undefined when there is no object under the key. */
  async head(bucket: string, key: string, side: S3Side): Promise<S3ObjectInfo | undefined> {
    return this.call(side, 'check', this.url(bucket, key), async (c, m) => {
      try {
        const r = await c.send(new m.HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { size: Number(r.ContentLength ?? 0), etag: r.ETag, contentType: r.ContentType, lastModified: r.LastModified, metadata: r.Metadata ?? {} };
      } catch (e) {
        if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404 && (e as Error).name !== 'NoSuchBucket') return undefined;
        throw e;
      }
    });
  }

  /** GET: the object's bytes as a stream, and what the response says about it. */
  async get(bucket: string, key: string, side: S3Side, signal?: AbortSignal): Promise<S3Read> {
    // Without range or ifMatch there is no precondition to fail: read answers the object or throws.
    return (await this.read(bucket, key, side, { signal }))!;
  }

  /**
   * GET with a `range` (`bytes=N-`) and/or `ifMatch` (an ETag): the transfer engine's resume of an object
   * (docs/transfers.md "Retries and resuming"). Undefined when the object is no longer that ETag (412) or
   * the range starts past its end (416): the caller starts over.
   */
  async read(bucket: string, key: string, side: S3Side, opts: { range?: string; ifMatch?: string; signal?: AbortSignal }): Promise<S3Read | undefined> {
    return this.call(side, 'download', this.url(bucket, key), async (c, m) => {
      try {
        const r = await c.send(new m.GetObjectCommand({ Bucket: bucket, Key: key, Range: opts.range, IfMatch: opts.ifMatch }), { abortSignal: opts.signal });
        return {
          status: r.$metadata.httpStatusCode ?? 200,
          contentRange: r.ContentRange,
          body: r.Body as Readable,
          info: { size: Number(r.ContentLength ?? 0), etag: r.ETag, contentType: r.ContentType, lastModified: r.LastModified, metadata: r.Metadata ?? {} },
        };
      } catch (e) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if ((status === 412 && opts.ifMatch) || (status === 416 && opts.range)) return undefined;
        throw e;
      }
    });
  }

  /** HeadBucket: the bucket exists and these credentials may use it. */
  async checkBucket(bucket: string, side: S3Side): Promise<void> {
    await this.call(side, 'open bucket', this.url(bucket), (c, m) => c.send(new m.HeadBucketCommand({ Bucket: bucket })));
  }

  /**
   * Abort the unfinished multipart uploads of exactly this key (a run killed mid-upload leaves one, and
   * its parts use space until aborted). Only this key's uploads: others in the bucket are not ours to end.
   */
  async abortStaleUploads(bucket: string, key: string): Promise<number> {
    return this.call('target', 'abort stale uploads of', this.url(bucket, key), async (c, m) => {
      const stale: string[] = [];
      let keyMarker: string | undefined;
      let uploadMarker: string | undefined;
      do {
        const r = await c.send(new m.ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: uploadMarker }));
        for (const u of r.Uploads ?? []) if (u.Key === key && u.UploadId) stale.push(u.UploadId);
        keyMarker = r.IsTruncated ? r.NextKeyMarker : undefined;
        uploadMarker = r.IsTruncated ? r.NextUploadIdMarker : undefined;
      } while (keyMarker);
      for (const id of stale) await c.send(new m.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
      if (stale.length) this.log.warn(`${this.url(bucket, key)}: aborted ${stale.length} unfinished multipart upload(s) an earlier run left`);
      return stale.length;
    });
  }

  /**
   * Store `body` (`size` bytes) under the key: one PutObject up to MULTIPART_PART_SIZE, a multipart upload
   * above (lib-storage), each part buffered only while it is sent. A failed upload is aborted, so it
   * leaves no parts behind; `onBytes` gets the bytes sent since its last call.
   */
  async upload(bucket: string, key: string, body: Readable, opts: { size: number; contentType: string; metadata: Record<string, string>; onBytes?: (n: number) => void }): Promise<void> {
    const { Upload } = await import('@aws-sdk/lib-storage');
    const partSize = Math.max(MULTIPART_PART_SIZE, Math.ceil(opts.size / MAX_PARTS));
    await this.call('target', 'upload', this.url(bucket, key), async (client) => {
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: key, Body: body, ContentLength: opts.size, ContentType: opts.contentType, Metadata: opts.metadata },
        partSize,
        queueSize: PART_QUEUE,
        leavePartsOnError: false,
      });
      let sent = 0;
      upload.on('httpUploadProgress', (p) => {
        const loaded = p.loaded ?? 0;
        if (loaded > sent) {
          opts.onBytes?.(loaded - sent);
          sent = loaded;
        }
      });
      // A source stream that fails (a digest mismatch found at its end) fails the upload, which lib-storage
      // then aborts (leavePartsOnError: false), so no parts stay behind.
      await upload.done();
    });
  }

  /** Close the connection's sockets. */
  async close(): Promise<void> {
    if (this.client) (await this.client.catch(() => undefined))?.destroy();
  }
}
