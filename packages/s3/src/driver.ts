import { type ResolvedTarget, type S3TargetConfig, type TargetDriver, InternalError, UsageError } from '@airgap/core';
import { S3Bucket } from './bucket.js';
import { S3Connection } from './connection.js';

/** What an s3 target gives the publish halves (`ctx.services`). */
export interface S3Services {
  s3: S3Bucket;
  [service: string]: unknown;
}

/**
 * `type: s3` (docs/config.md, docs/backups.md): a bucket on an S3 service, each file restored as an object
 * under `prefix` + its path. Opening checks the bucket and the credentials (HeadBucket) before anything is
 * sent, so wrong keys fail once, naming their environment variables, instead of once per object.
 */
export const s3Driver: TargetDriver = {
  type: 's3',
  check(target, _formats, ctx) {
    const cfg = s3Config(target);
    checkPrefix(target.name, cfg.prefix ?? '');
    // The connection exists and its variables are set; nothing is sent yet.
    S3Connection.open(cfg.s3, ctx.config, ctx.env, `targets.${target.name}`);
  },
  async open(target, ctx) {
    const cfg = s3Config(target);
    const prefix = cfg.prefix ?? '';
    checkPrefix(target.name, prefix);
    const connection = S3Connection.open(cfg.s3, ctx.config, ctx.env, `targets.${target.name}`, ctx.log);
    try {
      await connection.checkBucket(cfg.bucket, 'target');
    } catch (e) {
      await connection.close();
      throw e;
    }
    const services: S3Services = { s3: new S3Bucket(connection, cfg.bucket, prefix) };
    return { services, close: () => connection.close() };
  },
};

function s3Config(target: ResolvedTarget): S3TargetConfig {
  const cfg = target.config as S3TargetConfig;
  if (cfg.type !== 's3') throw new InternalError(`s3 driver used for a ${cfg.type} target (${target.name})`);
  return cfg;
}

function checkPrefix(name: string, prefix: string): void {
  if (prefix.split('/').slice(0, -1).some((s) => s === '' || s === '.' || s === '..')) {
    throw new UsageError(`targets.${name}.prefix: ${JSON.stringify(prefix)} is not a safe key prefix`, {
      subject: `targets.${name}.prefix`,
      hint: 'write folders separated by / and ending in /, without empty, . or .. parts (e.g. dr/velero/)',
    });
  }
}
