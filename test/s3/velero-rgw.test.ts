import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pMap from 'p-map';
import { airgapBin, runAirgap, runAirgapJson, tempDir } from '../harness/index.js';
import { type Rgw, startRgw } from '../harness/ceph-rgw.js';
import { createBucket, head, listAll, multipartUploads, objectSha256, putObject, randomFile, s3Client, uploadFile } from './helpers.js';

/**
 * Backups across the gap (docs/backups.md) against a real Ceph RGW: a Velero-shaped bucket is packed
 * through S3 (HTTPS, the RGW's own CA as caFile), carried as a signed bundle and restored into another
 * bucket by an s3 target.
 */
let rgw: Rgw;
let s3: S3Client;
let work: string;
let config: string;
let keys: string;
const BIG_KEY = 'kopia/default/p0f00big-pack';
const BIG_SIZE = 80 * 1024 * 1024;
const source = new Map<string, { sha256: string; contentType: string }>();
const env = (): Record<string, string> => ({ RGW_ACCESS_KEY: rgw.accessKey, RGW_SECRET_KEY: rgw.secretKey });

/** Velero's bucket layout: backups/<name>/…, restores/<name>/…, the kopia repository under kopia/<namespace>/. */
function veleroTree(): { key: string; contentType: string; size: number }[] {
  const out: { key: string; contentType: string; size: number }[] = [];
  for (const b of ['nightly-20261129', 'nightly-20261130', 'nightly-20261201']) {
    out.push({ key: `backups/${b}/velero-backup.json`, contentType: 'application/json', size: 2_000 });
    for (const f of ['logs.gz', 'podvolumebackups.json.gz', 'resource-list.json.gz', 'volumesnapshots.json.gz', 'csi-volumesnapshots.json.gz'])
      out.push({ key: `backups/${b}/${b}-${f}`, contentType: 'application/gzip', size: 1_500 });
    out.push({ key: `backups/${b}/${b}.tar.gz`, contentType: 'application/x-gzip', size: 40_000 });
  }
  out.push({ key: 'restores/dr-test-1/restore-dr-test-1-logs.gz', contentType: 'application/gzip', size: 900 });
  out.push({ key: 'restores/dr-test-1/restore-dr-test-1-results.gz', contentType: 'application/gzip', size: 700 });
  for (const ns of ['default', 'monitoring']) {
    out.push({ key: `kopia/${ns}/kopia.repository`, contentType: 'application/x-kopia-repository', size: 1_100 });
    for (let i = 0; i < 90; i++) out.push({ key: `kopia/${ns}/${i % 3 ? 'p' : 'q'}${(i * 7919).toString(16).padStart(8, '0')}`, contentType: 'application/octet-stream', size: 512 + ((i * 131) % 8000) });
  }
  return out;
}

async function pack(manifest: string, extraEnv: Record<string, string> = {}) {
  return runAirgap(['pack', manifest, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache'), '--config', config, '--json'], { cwd: work, env: { ...env(), ...extraEnv } });
}

function unpackArgs(bundle: string, to: string, ledger: string): string[] {
  return ['unpack', bundle, '--to', to, '--pub', join(keys, 'outside.pub'), '--ledger', ledger, '--config', config];
}

let bundle: string;

beforeAll(async () => {
  work = await tempDir('airgap-s3-');
  rgw = await startRgw({ tls: true });
  s3 = s3Client(rgw);
  for (const b of ['velero', 'velero-dr', 'velero-kill']) await createBucket(s3, b);
  const tree = veleroTree();
  await pMap(tree, async (o) => {
    const body = Buffer.alloc(o.size, o.key);
    await putObject(s3, 'velero', o.key, body, o.contentType);
    source.set(o.key, { sha256: (await import('node:crypto')).createHash('sha256').update(body).digest('hex'), contentType: o.contentType });
  }, { concurrency: 8 });
  const big = join(work, 'big');
  source.set(BIG_KEY, { sha256: await randomFile(big, BIG_SIZE), contentType: 'application/octet-stream' });
  await uploadFile(s3, 'velero', BIG_KEY, big, 'application/octet-stream');

  keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  config = join(work, 'airgap.yaml');
  const conn = (endpoint: string, extra = '') => `{ endpoint: "${endpoint}", accessKeyEnv: RGW_ACCESS_KEY, secretKeyEnv: RGW_SECRET_KEY${extra} }`;
  await writeFile(config, [
    's3:',
    `  ceph: ${conn(rgw.httpsEndpoint!, `, caFile: "${rgw.caFile}"`)}`,
    `  ceph-untrusted: ${conn(rgw.httpsEndpoint!)}`,
    `  ceph-plain: ${conn(rgw.endpoint)}`,
    'targets:',
    '  dr: { type: s3, s3: ceph-plain, bucket: velero-dr }',
    '  kill: { type: s3, s3: ceph-plain, bucket: velero-kill }',
    '  missing: { type: s3, s3: ceph-plain, bucket: no-such-bucket }',
    '',
  ].join('\n'));
  await writeFile(join(work, 'velero.yaml'), 'apiVersion: airgap/v1\nkind: Bundle\nname: velero-dr\nfiles:\n  - url: s3://velero/\n    s3: ceph\n');
}, 240_000);

afterAll(async () => {
  s3?.destroy();
  await rgw?.stop();
});

describe('a Velero bucket carried from one RGW bucket to another', () => {
  it('packs every object of the bucket through HTTPS (the RGW CA as caFile)', async () => {
    const r = await pack(join(work, 'velero.yaml'));
    expect(r.exitCode, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(source.size).toBeGreaterThanOrEqual(200);
    expect(json.artifacts).toBe(source.size);
    bundle = json.bundle;
    const inspect = await runAirgapJson(['inspect', bundle]);
    const names = (inspect.json.artifacts as { name: string }[]).map((a) => a.name).sort();
    expect(names).toEqual([...source.keys()].sort());
  });

  it('unpacks into the other bucket: same keys, same bytes (sha256), same content types', async () => {
    const ledger = join(work, 'dr.jsonl');
    const r = await runAirgapJson(unpackArgs(bundle, 'dr', ledger), { cwd: work, env: env() });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.counts).toEqual({ pushed: source.size });
    const listed = await listAll(s3, 'velero-dr');
    expect(listed.map((o) => o.key).sort()).toEqual([...source.keys()].sort());
    await pMap(listed, async (o) => {
      const want = source.get(o.key)!;
      expect(await objectSha256(s3, 'velero-dr', o.key), o.key).toBe(want.sha256);
      const h = await head(s3, 'velero-dr', o.key);
      expect(h.contentType, o.key).toBe(want.contentType);
      expect(h.metadata.sha256, o.key).toBe(want.sha256);
    }, { concurrency: 8 });
  });

  it('a re-run is all present and sends nothing (no PUT or POST at the RGW, no mtime changed)', async () => {
    const before = await listAll(s3, 'velero-dr');
    const seen = (await rgw.requests()).length;
    const r = await runAirgapJson(unpackArgs(bundle, 'dr', join(work, 'dr.jsonl')), { cwd: work, env: env() });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.counts).toEqual({ present: source.size });
    const during = (await rgw.requests()).slice(seen);
    expect(during.filter((l) => /"HEAD /.test(l)).length).toBeGreaterThanOrEqual(source.size);
    expect(during.filter((l) => /"(PUT|POST|DELETE) /.test(l))).toEqual([]);
    expect(await listAll(s3, 'velero-dr')).toEqual(before);
  });

  it('an object changed at the target under the same key: exit 4 naming the key, nothing overwritten', async () => {
    const key = 'backups/nightly-20261201/velero-backup.json';
    await putObject(s3, 'velero-dr', key, 'edited by hand at the DR site', 'application/json');
    const r = await runAirgap(unpackArgs(bundle, 'dr', join(work, 'dr.jsonl')), { cwd: work, env: env() });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toContain(`s3://velero-dr/${key}`);
    expect(r.stderr).toMatch(/different object/);
    const sha = (await import('node:crypto')).createHash('sha256').update('edited by hand at the DR site').digest('hex');
    expect(await objectSha256(s3, 'velero-dr', key)).toBe(sha);
  });
});

describe('credentials and transport', () => {
  it('a wrong secret key: pack exits 1 naming the variable; the secret is in no output', async () => {
    const secret = 'not-the-secret-' + 'x'.repeat(20);
    const r = await pack(join(work, 'velero.yaml'), { RGW_SECRET_KEY: secret });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toContain('RGW_SECRET_KEY');
    expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it('an unknown access key: pack exits 1 naming RGW_ACCESS_KEY', async () => {
    const r = await pack(join(work, 'velero.yaml'), { RGW_ACCESS_KEY: 'NOSUCHACCESSKEY0000' });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/RGW_ACCESS_KEY/);
    expect(r.stdout).toMatch(/InvalidAccessKeyId/);
  });

  it('a wrong secret key at the target: unpack exits 1 before sending anything, the ledger holds no secret', async () => {
    const secret = 'wrong-target-secret-' + 'y'.repeat(20);
    const ledger = join(work, 'wrong.jsonl');
    const r = await runAirgap(unpackArgs(bundle, 'dr', ledger), { cwd: work, env: { ...env(), RGW_SECRET_KEY: secret } });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain('RGW_SECRET_KEY');
    expect(r.stdout + r.stderr).not.toContain(secret);
    const text = await readFile(ledger, 'utf8').catch(() => '');
    expect(text).not.toContain(secret);
  });

  it('an unset variable is a config error naming it (exit 2)', async () => {
    const r = await runAirgap(['pack', join(work, 'velero.yaml'), '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--config', config], { cwd: work, env: { RGW_ACCESS_KEY: rgw.accessKey, RGW_SECRET_KEY: '' } });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/RGW_SECRET_KEY is not set/);
  });

  it('TLS is verified: the RGW certificate without its caFile is refused (exit 1, pointing at caFile)', async () => {
    const m = join(work, 'untrusted.yaml');
    await writeFile(m, 'apiVersion: airgap/v1\nkind: Bundle\nname: untrusted\nfiles:\n  - url: s3://velero/restores/\n    s3: ceph-untrusted\n');
    const r = await pack(m);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/not trusted/);
    expect(r.stdout).toMatch(/caFile/);
  });

  it('a target bucket that does not exist: exit 1 naming it, before anything is sent', async () => {
    const r = await runAirgap(unpackArgs(bundle, 'missing', join(work, 'missing.jsonl')), { cwd: work, env: env() });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/no-such-bucket does not exist/);
  });
});

describe('kill -9 in the middle of the large multipart upload', () => {
  it('a re-run completes it: every object once, no orphan multipart upload', async () => {
    const ledger = join(work, 'kill.jsonl');
    const child = execa(process.execPath, [airgapBin, ...unpackArgs(bundle, 'kill', ledger)], { cwd: work, env: { ...env(), NO_COLOR: '1' }, reject: false, stdin: 'ignore' });
    // Wait until the big object's multipart upload has at least one part stored, then kill the unpack.
    let killedMidUpload = false;
    for (let i = 0; i < 600 && child.exitCode === null; i++) {
      const up = (await multipartUploads(s3, 'velero-kill')).find((u) => u.key === BIG_KEY);
      if (up) {
        const parts = await s3.send(new ListPartsCommand({ Bucket: 'velero-kill', Key: BIG_KEY, UploadId: up.uploadId }));
        if ((parts.Parts ?? []).length >= 1) {
          child.kill('SIGKILL');
          killedMidUpload = true;
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    await child;
    expect(killedMidUpload, 'the unpack finished before the test could kill it mid-upload').toBe(true);
    expect((await multipartUploads(s3, 'velero-kill')).map((u) => u.key)).toEqual([BIG_KEY]);
    expect((await listAll(s3, 'velero-kill')).map((o) => o.key)).not.toContain(BIG_KEY);

    const r = await runAirgapJson(unpackArgs(bundle, 'kill', ledger), { cwd: work, env: env() });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await multipartUploads(s3, 'velero-kill')).toEqual([]);
    const listed = await listAll(s3, 'velero-kill');
    expect(listed.map((o) => o.key).sort()).toEqual([...source.keys()].sort());
    expect(await objectSha256(s3, 'velero-kill', BIG_KEY)).toBe(source.get(BIG_KEY)!.sha256);
    const records = (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(records.filter((x) => x.name === BIG_KEY && x.action === 'pushed')).toHaveLength(1);
  });
});
