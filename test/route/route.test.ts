/**
 * Routing (docs/config.md `type: route`, `unpack --only/--exclude`): one bundle of images + npm + files
 * goes in one run, with one ledger, to a real Docker registry, a real verdaccio and a dir mirror. A kind
 * mapped nowhere is refused from the signed bundle.json before any part is read (the parts are removed:
 * a run that read them would fail with exit 3 instead).
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StaticServer, runAirgap, runAirgapJson, startStaticServer, tempDir } from '../harness/index.js';
import { type Registry, buildFixtureLayout, skopeoCopy, startRegistry } from '../oci/registry-fixtures.js';
import { publishFixtures } from '../npm/fixtures.js';
import { npmClient, startVerdaccio, type Verdaccio } from '../npm/verdaccio.js';

const payload = 'routed to the mirror\n';
let work: string;
let src: Registry;
let harbor: Registry;
let upstreamNpm: Verdaccio;
let insideNpm: Verdaccio;
let files: StaticServer;
let config: string;
let bundle: string;
let mirror: string;
let env: Record<string, string>;

beforeAll(async () => {
  work = await tempDir('airgap-route-');
  const layout = await buildFixtureLayout(join(work, 'fixture'));
  [src, harbor, upstreamNpm, insideNpm] = await Promise.all([startRegistry(join(work, 'src')), startRegistry(join(work, 'harbor')), startVerdaccio(), startVerdaccio()]);
  await skopeoCopy(`oci:${layout}:amd64`, `docker://${src.host}/team/one:1`);
  await publishFixtures(upstreamNpm, work, [{ name: 'rt-lib', version: '1.0.0' }, { name: 'rt-app', version: '2.0.0', dependencies: { 'rt-lib': '^1.0.0' } }]);
  await mkdir(join(work, 'upstream'));
  await writeFile(join(work, 'upstream', 'notes.txt'), payload);
  files = await startStaticServer(join(work, 'upstream'));
  mirror = join(work, 'mirror');
  const keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  env = { T_USER: insideNpm.user, T_PASS: insideNpm.password };
  config = join(work, 'airgap.yaml');
  await writeFile(config, [
    `trust: [${join(keys, 'outside.pub')}]`,
    `cache: ${join(work, 'cache')}`,
    'targets:',
    '  harbor:',
    '    type: registries',
    `    endpoints: { docker: "http://${harbor.host}/" }`,
    '  verdaccio:',
    '    type: registries',
    `    endpoints: { npm: "${insideNpm.url}" }`,
    '    usernameEnv: T_USER',
    '    passwordEnv: T_PASS',
    '  mirror:',
    '    type: dir',
    `    path: ${mirror}`,
    '  inside:',
    '    type: route',
    '    routes: { images: harbor, npm: verdaccio, default: mirror }',
    '  images-only:',
    '    type: route',
    '    routes: { images: harbor }',
    '',
  ].join('\n'));
  await writeFile(join(work, 'mixed.yaml'), [
    'apiVersion: airgap/v1',
    'kind: Bundle',
    'name: mixed',
    'images:',
    `  - ref: ${src.host}/team/one:1`,
    'npm:',
    `  - registry: ${upstreamNpm.url}`,
    '    packages: [rt-app@2.0.0]',
    'files:',
    `  - url: ${files.url}notes.txt`,
    `    sha256: ${createHash('sha256').update(payload).digest('hex')}`,
    '    path: docs/',
    '',
  ].join('\n'));
  // Small parts, so that the bundle has several and the index is not alone in part-00001.
  const p = await runAirgapJson<{ bundle: string }>(['pack', join(work, 'mixed.yaml'), '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--config', config, '--chunk-size', '256KiB'], { cwd: work });
  expect(p.exitCode, p.stderr).toBe(0);
  bundle = p.json.bundle;
}, 300_000);

afterAll(async () => {
  await Promise.all([src?.stop(), harbor?.stop(), upstreamNpm?.close(), insideNpm?.close(), files?.close()]);
});

describe('unpack through a route target', () => {
  it('sends images to the registry, npm to verdaccio and files to the mirror in one run with one ledger', async () => {
    const ledger = join(work, 'ledger.jsonl');
    const r = await runAirgapJson<{ routes: Record<string, string>; countsByKind: Record<string, Record<string, number>> }>(
      ['unpack', bundle, '--to', 'inside', '--config', config, '--ledger', ledger], { env },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.routes).toEqual({ image: 'harbor', npm: 'verdaccio', file: 'mirror' });
    expect(r.json.countsByKind).toEqual({ image: { pushed: 1 }, npm: { pushed: 2 }, file: { pushed: 1 } });

    // Each with its own real client.
    const inspected = await execa('skopeo', ['inspect', '--tls-verify=false', `docker://${harbor.host}/${src.host.replace(':', '_')}/team/one:1`]);
    expect(JSON.parse(inspected.stdout).Architecture).toBe('amd64');
    const view = await npmClient(['view', 'rt-app@2.0.0', 'dependencies', '--json'], { cwd: work, userconfig: insideNpm.userconfig, cache: join(work, 'npm-cache-view'), registry: insideNpm.url });
    expect(JSON.parse(String(view.stdout))).toEqual({ 'rt-lib': '^1.0.0' });
    expect(await readFile(join(mirror, 'files', 'docs', 'notes.txt'), 'utf8')).toBe(payload);
    // files/, and the marker of the ledger that pushed into the mirror (docs/ledger.md "One ledger per target")
    expect((await readdir(mirror)).sort()).toEqual(['.airgap-ledger-id', 'files']);

    // One ledger, one run: the run records name the route, each artifact record the target it went to.
    const records = (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { run: string; kind: string; target: string; action: string });
    expect(new Set(records.map((x) => x.run)).size).toBe(1);
    expect(records.filter((x) => x.kind === 'run').map((x) => [x.action, x.target])).toEqual([['start', 'inside'], ['end', 'inside']]);
    expect(Object.fromEntries(records.filter((x) => x.kind !== 'run' && x.kind !== 'intent').map((x) => [x.kind, x.target]))).toEqual({ image: 'harbor', npm: 'verdaccio', file: 'mirror' });

    const again = await runAirgapJson<{ counts: Record<string, number> }>(['unpack', bundle, '--to', 'inside', '--config', config, '--ledger', ledger], { env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json.counts).toEqual({ present: 4 });
  });

  it('a kind mapped nowhere is refused (exit 2, naming each kind) before a part is read', async () => {
    const partless = join(work, 'partless');
    await cp(bundle, partless, { recursive: true });
    const parts = (await readdir(partless)).filter((f) => f.startsWith('part-'));
    expect(parts.length).toBeGreaterThan(2);
    for (const f of parts) await rm(join(partless, f));
    const r = await runAirgap(['unpack', partless, '--to', 'images-only', '--config', config, '--ledger', join(work, 'ledger-refused.jsonl')], { env });
    expect(r.stderr).toContain('npm: route images-only sends it nowhere');
    expect(r.stderr).toContain('file: route images-only sends it nowhere');
    expect(r.stderr).not.toContain('image:');
    expect(r.exitCode).toBe(2);
    // The control: a target that takes every kind goes on to the parts, and finds them missing.
    const control = await runAirgap(['unpack', partless, '--to', 'inside', '--config', config, '--ledger', join(work, 'ledger-refused.jsonl')], { env });
    expect(control.stderr).toMatch(/part-00001: missing/);
    expect(control.exitCode).toBe(3);
  });

  it('a registries target missing a format is refused before the parts too (naming the format)', async () => {
    const partless = join(work, 'partless');
    const r = await runAirgap(['unpack', partless, '--to', 'harbor', '--config', config, '--ledger', join(work, 'ledger-refused.jsonl')], { env });
    expect(r.stderr).toMatch(/maps no repository for npm/);
    expect(r.exitCode).toBe(2);
  });

  it('--exclude and --only leave kinds out: images alone to a route that maps only images', async () => {
    const ledger = join(work, 'ledger-only.jsonl');
    const ex = await runAirgapJson<{ counts: Record<string, number>; excluded: Record<string, number> }>(['unpack', bundle, '--to', 'images-only', '--exclude', 'npm,files', '--config', config, '--ledger', ledger], { env });
    expect(ex.exitCode, ex.stderr).toBe(0);
    expect(ex.json.counts).toEqual({ present: 1 });
    expect(ex.json.excluded).toEqual({ npm: 2, file: 1 });
    const only = await runAirgapJson<{ counts: Record<string, number>; excluded: Record<string, number> }>(['unpack', bundle, '--to', 'harbor', '--only', 'images', '--config', config, '--ledger', ledger], { env });
    expect(only.exitCode, only.stderr).toBe(0);
    expect(only.json.counts).toEqual({ present: 1 });
    const bad = await runAirgap(['unpack', bundle, '--to', 'harbor', '--only', 'imagez', '--config', config, '--ledger', ledger], { env });
    expect(bad.stderr).toContain('"imagez" is not a kind');
    expect(bad.exitCode).toBe(2);
  });
});
