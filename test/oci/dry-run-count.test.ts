/**
 * Issue 21 item 9: `unpack --dry-run` speaks one language — each line says `would push` or `present`, the
 * summary `would push N, already present M` — and an image a bundle carries twice (by tag and by digest)
 * is counted once, as a real run sends it once (each blob uploaded once, counted at the target's proxy).
 * Through the real CLI against real docker-registries.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';
import { type RecordingProxy, startRecordingProxy } from './proxies.js';
import { type Registry, buildFixtureLayout, manifestDigestInLayout, skopeoCopy, startRegistry } from './registry-fixtures.js';

let work: string;
let src: Registry;
let dst: Registry;
let dstProxy: RecordingProxy;
let keys: string;
let config: string;
let bundle: string;
let oneDigest: string;

const unpackArgs = (extra: string[]) => ['unpack', bundle, '--to', 'reg', '--pub', join(keys, 'outside.pub'), '--config', config, '--ledger', join(work, 'ledger.jsonl'), ...extra];

beforeAll(async () => {
  work = await tempDir('airgap-dry-run-');
  const layout = await buildFixtureLayout(join(work, 'fixture'));
  src = await startRegistry(join(work, 'src'));
  dst = await startRegistry(join(work, 'dst'));
  dstProxy = await startRecordingProxy(dst.host);
  await skopeoCopy(`oci:${layout}:amd64`, `docker://${src.host}/team/one:1`);
  await skopeoCopy(`oci:${layout}:app`, `docker://${src.host}/team/two:1`);
  oneDigest = await manifestDigestInLayout(layout, 'amd64');
  keys = join(work, 'keys');
  await mkdir(keys);
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  config = join(work, 'airgap.yaml');
  await writeFile(config, `cache: ${join(work, 'cache')}\ntargets:\n  reg: { type: registries, endpoints: { docker: "http://${dstProxy.host}/" } }\n`);
  // team/one twice: by tag and by digest (two entries, one image).
  await writeFile(join(work, 'images.yaml'), [
    'apiVersion: airgap/v1', 'kind: Bundle', 'name: dry', 'images:',
    `  - ref: ${src.host}/team/one:1`, `  - ref: ${src.host}/team/one@${oneDigest}`, `  - ref: ${src.host}/team/two:1`, '',
  ].join('\n'));
  const p = await runAirgapJson(['pack', join(work, 'images.yaml'), '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--config', config]);
  expect(p.exitCode, p.stderr).toBe(0);
  expect(p.json.artifacts).toBe(3);
  bundle = p.json.bundle;
  // team/two is inside already, where unpack puts it (the source registry as a path segment, docs/oci.md).
  await skopeoCopy(`docker://${src.host}/team/two:1`, `docker://${dst.host}/127.0.0.1_${src.host.split(':')[1]}/team/two:1`);
});

afterAll(async () => {
  await dstProxy?.stop();
  await src?.stop();
  await dst?.stop();
});

describe('unpack --dry-run', () => {
  it('says would push / present per line and "would push N, already present M" in its summary, the shared image once', async () => {
    const r = await runAirgap(unpackArgs(['--dry-run']));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('dry run: dry → reg: would push 1, already present 1');
    const lines = r.stderr.split('\n');
    const artifactLines = lines.filter((l) => /Z (would push|present|skipped|pushed) /.test(l)).map((l) => l.replace(/^\S+ /, ''));
    expect(artifactLines.sort()).toEqual([
      `present image ${src.host}/team/two:1`,
      `would push image ${src.host}/team/one:1`,
      `would push image ${src.host}/team/one@${oneDigest} (the same content as image ${src.host}/team/one:1: counted once)`,
    ].sort());
    expect(r.stderr).not.toMatch(/skipped/);
    // The phase line: all three done, counted in the same words.
    expect(r.stderr).toMatch(/Comparing with the target \(dry run\): done in [\d.]+ s \(3\/3, (1 present, 1 would push|1 would push, 1 present)\)/);
  });

  it('--json counts the shared image once and names what it is counted under', async () => {
    const r = await runAirgapJson(unpackArgs(['--dry-run']));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.counts).toEqual({ 'would-push': 1, present: 1 });
    const byDigest = r.json.artifacts.find((x: any) => x.version === oneDigest);
    expect(byDigest).toMatchObject({ action: 'would-push', sameAs: `image ${src.host}/team/one:1` });
    expect(r.json.artifacts.filter((x: any) => x.sameAs)).toHaveLength(1);
  });

  it('after the real unpack, the dry run finds everything present', async () => {
    const u = await runAirgapJson(unpackArgs([]));
    expect(u.exitCode, `${u.stderr}\n${JSON.stringify(u.json.failures)}`).toBe(0);
    expect(u.json.counts.failed).toBeUndefined();
    // team/one by tag and by digest: one upload per blob (a second, concurrent upload of the same blob
    // raced Docker's registry into refusing a manifest PUT, exit 4).
    const uploads = new Map<string, number>();
    for (const q of dstProxy.requests) {
      const d = q.method === 'PUT' ? /[?&]digest=(sha256(?::|%3A)[0-9a-f]{64})/.exec(q.path)?.[1] : undefined;
      if (d) uploads.set(d, (uploads.get(d) ?? 0) + 1);
    }
    expect(uploads.size).toBeGreaterThanOrEqual(2);
    expect([...uploads.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    const r = await runAirgap(unpackArgs(['--dry-run']));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('dry run: dry → reg: would push 0, already present 3');
    expect(await readdir(join(work, 'out'))).toHaveLength(1);
  });
});
