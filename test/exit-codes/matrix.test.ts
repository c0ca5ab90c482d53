/**
 * docs/exit-codes.md, one class at a time, for every registered ecosystem, through the built CLI against
 * real upstreams on 127.0.0.1 (test/approval/seven-kinds.ts: docker-registry, a static server with a chart
 * repository, a signed apt archive and a yum repository, a PyPI simple index, verdaccio). Faults come from
 * test/exit-codes/fault-proxy.ts in front of the same servers: one answering 503 to everything, one
 * flipping a byte of each artifact body (same length, so only a checksum can tell).
 *
 * MATRIX has a row per ecosystem and a cell per upstream class: a case (the manifest section and the
 * expected code, error kind and words), or the reason the class does not apply. The first test fails when
 * an ecosystem is registered without a row. The bundle classes (missing bundle folder, no trusted key,
 * untrusted or bad signature) are checked once, on a bundle that carries every kind: they are decided
 * before any artifact is read.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactKind } from '@airgap/core';
import { ecosystems } from '../../src/ecosystems.js';
import { repoRoot, runAirgap, runAirgapJson, tempDir } from '../harness/index.js';
import { type SevenKinds, sevenKinds } from '../approval/seven-kinds.js';
import { makeGpgKey, nativeArch, stopGpgAgent } from '../apt/upstream.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

/** Where one ecosystem's upstream is reached: the server itself, or a fault proxy in front of it. */
interface Origin {
  registry: string;
  site: string;
  pypi: string;
  npm: string;
}

interface Keys {
  apt: string;
  stranger: string;
  cosign: string;
  arch: string;
  fileSha256: string;
}

type Section = (o: Origin, k: Keys) => string;

interface Case {
  /** The manifest section (YAML under the top-level keys). */
  section: Section;
  /** The upstream the case reaches: as it is, answering 503, or with its artifact bodies corrupted. */
  via?: 'ok' | 'down' | 'bad';
  code: 1 | 2 | 3;
  kind: 'UsageError' | 'IntegrityError' | 'TrustError' | 'UpstreamError';
  /** Words the message (or hint) must carry: the thing at fault, the nearest names the upstream has. */
  says: RegExp[];
  /** With `via: 'bad'`: the artifact path the proxy must have corrupted (so the 3 is for that). */
  corrupts?: RegExp;
}

const CLASSES = ['unknown name', 'unknown version', 'no upstream key', 'untrusted upstream signature', 'upstream integrity', 'upstream 5xx'] as const;
type UpstreamClass = (typeof CLASSES)[number];
type Cell = Case | { na: string };

const image = (ref: string, extra = ''): Section => (o) => `images:\n  - ref: ${o.registry}/${ref}\n${extra}`;
const chart = (name: string, extra = ''): Section => (o) => `charts:\n  - repo: ${o.site}charts\n    name: ${name}\n${extra}`;
const apt = (pkg: string, keyring: (k: Keys) => string | null = (k) => k.apt): Section => (o, k) =>
  `apt:\n  - url: ${o.site}debian/archive\n    suite: stable\n    components: [main]\n    architectures: [${k.arch}]\n${keyring(k) ? `    keyring: ${keyring(k)}\n` : ''}    packages: [${JSON.stringify(pkg)}]\n`;
const yum = (pkg: string, extra = ''): Section => (o) => `yum:\n  - baseurl: ${o.site}yum/\n    packages: [${JSON.stringify(pkg)}]\n${extra}`;
const pypi = (req: string): Section => (o) => `pypi:\n  - index: ${o.pypi}simple/\n    requirements: [${JSON.stringify(req)}]\n    python: "3.11"\n    platforms: [manylinux_2_17_x86_64]\n`;
const npm = (spec: string): Section => (o) => `npm:\n  - registry: ${o.npm}\n    packages: [${JSON.stringify(spec)}]\n`;
const file = (name: string, pin = false): Section => (o, k) => `files:\n  - url: ${o.site}${name}\n    path: tools/\n${pin ? `    sha256: ${k.fileSha256}\n` : ''}`;

const DOWN = [/503/];
const MATRIX: Record<ArtifactKind, Record<UpstreamClass, Cell>> = {
  image: {
    'unknown name': { section: image('tools/busybx:1.36'), code: 2, kind: 'UsageError', says: [/tools\/busybx/, /tools\/busybox/] },
    'unknown version': { section: image('tools/busybox:1.37'), code: 2, kind: 'UsageError', says: [/1\.37/, /1\.36/] },
    'no upstream key': { na: 'a cosign key is opt-in (verify.cosignKey, policy.images.verify); without one no signature is asked for' },
    'untrusted upstream signature': { section: image('tools/busybox:1.36', '    verify: { cosignKey: cosign.pub }\n'), code: 3, kind: 'TrustError', says: [/tools\/busybox/] },
    'upstream integrity': { section: image('tools/busybox:1.36'), via: 'bad', code: 3, kind: 'IntegrityError', says: [/sha256/], corrupts: /\/blobs\/sha256:/ },
    'upstream 5xx': { section: image('tools/busybox:1.36'), via: 'down', code: 1, kind: 'UpstreamError', says: DOWN },
  },
  chart: {
    'unknown name': { section: chart('wbe'), code: 2, kind: 'UsageError', says: [/wbe/, /web/] },
    'unknown version': { section: chart('web', '    version: "9.9.9"\n'), code: 2, kind: 'UsageError', says: [/9\.9\.9/, /1\.2\.0/] },
    'no upstream key': { na: 'a keyring is opt-in (charts[].keyring); without one no .prov is asked for' },
    'untrusted upstream signature': { section: chart('web', '    keyring: apt.gpg\n'), code: 3, kind: 'TrustError', says: [/web/, /prov/] },
    'upstream integrity': { section: chart('web'), via: 'bad', code: 3, kind: 'IntegrityError', says: [/web-1\.2\.0\.tgz|web/], corrupts: /web-1\.2\.0\.tgz$/ },
    'upstream 5xx': { section: chart('web'), via: 'down', code: 1, kind: 'UpstreamError', says: DOWN },
  },
  apt: {
    'unknown name': { section: apt('webap'), code: 2, kind: 'UsageError', says: [/webap/, /webapp/] },
    'unknown version': { section: apt('webapp (>= 9.0)'), code: 2, kind: 'UsageError', says: [/webapp/, /1\.0-1/] },
    'no upstream key': { section: apt('webapp', () => null), code: 2, kind: 'UsageError', says: [/keyring/] },
    'untrusted upstream signature': { section: apt('webapp', (k) => k.stranger), code: 3, kind: 'TrustError', says: [/InRelease|Release/] },
    'upstream integrity': { section: apt('webapp'), via: 'bad', code: 3, kind: 'IntegrityError', says: [/\.deb|SHA256/], corrupts: /(webapp|libweb)_.*\.deb$/ },
    'upstream 5xx': { section: apt('webapp'), via: 'down', code: 1, kind: 'UpstreamError', says: DOWN },
  },
  yum: {
    'unknown name': { section: yum('tol'), code: 2, kind: 'UsageError', says: [/tol/, /tool/] },
    'unknown version': { section: yum('tool >= 9.0'), code: 2, kind: 'UsageError', says: [/tool/, /1\.0/] },
    'no upstream key': { na: 'gpgkey is optional by design (docs/manifest.md: without it the metadata signature is not checked), as in a .repo file with gpgcheck=0' },
    'untrusted upstream signature': { section: yum('tool', '    gpgkey: apt.gpg\n'), code: 3, kind: 'TrustError', says: [/repomd\.xml/] },
    'upstream integrity': { section: yum('tool'), via: 'bad', code: 3, kind: 'IntegrityError', says: [/\.rpm|sha256/i], corrupts: /(tool|libtool)-.*\.rpm$/ },
    'upstream 5xx': { section: yum('tool'), via: 'down', code: 1, kind: 'UpstreamError', says: DOWN },
  },
  pypi: {
    'unknown name': { section: pypi('agap-ap==1.0'), code: 2, kind: 'UsageError', says: [/agap-ap/, /agap-app/] },
    'unknown version': { section: pypi('agap-app==9.0'), code: 2, kind: 'UsageError', says: [/agap-app/, /1\.0/] },
    'no upstream key': { na: 'a simple index carries no signature airgap checks; trust is the index URL over TLS and the sha256 of each file' },
    'untrusted upstream signature': { na: 'as above: no signature to be untrusted' },
    'upstream integrity': { section: pypi('agap-app==1.0'), via: 'bad', code: 3, kind: 'IntegrityError', says: [/\.whl|sha256/], corrupts: /agap_(app|lib)-.*\.whl$/ },
    'upstream 5xx': { section: pypi('agap-app==1.0'), via: 'down', code: 1, kind: 'UpstreamError', says: DOWN },
  },
  npm: {
    'unknown name': { section: npm('fx-cor@1.0.0'), code: 2, kind: 'UsageError', says: [/fx-cor/, /fx-core/] },
    'unknown version': { section: npm('fx-core@9.0.0'), code: 2, kind: 'UsageError', says: [/fx-core/, /1\.0\.0/] },
    'no upstream key': { na: 'airgap checks each tarball against the packument integrity; registry signatures are not checked' },
    'untrusted upstream signature': { na: 'as above: no signature to be untrusted' },
    'upstream integrity': { section: npm('fx-core@1.0.0'), via: 'bad', code: 3, kind: 'IntegrityError', says: [/fx-(core|util)/], corrupts: /fx-(core|util)-.*\.tgz$/ },
    'upstream 5xx': { section: npm('fx-core@1.0.0'), via: 'down', code: 1, kind: 'UpstreamError', says: DOWN },
  },
  file: {
    'unknown name': { section: file('velero.bash'), code: 2, kind: 'UsageError', says: [/velero\.bash/, /404/] },
    'unknown version': { na: 'a file URL has no versions' },
    'no upstream key': { na: 'files carry no signature; the trust anchor is the pinned sha256' },
    'untrusted upstream signature': { na: 'as above: no signature to be untrusted' },
    'upstream integrity': { section: file('velero.sh', true), via: 'bad', code: 3, kind: 'IntegrityError', says: [/velero\.sh/], corrupts: /velero\.sh$/ },
    'upstream 5xx': { section: file('velero.sh'), via: 'down', code: 1, kind: 'UpstreamError', says: DOWN },
  },
};

const ARTIFACT_PATH = /\/blobs\/sha256:|\.(tgz|deb|rpm|whl)$|velero\.sh$/;

let work: string;
let fx: SevenKinds;
let keys: Keys;
const origins = {} as Record<'ok' | 'down' | 'bad', Origin>;
const proxies: FaultProxy[] = [];
let config: string;
let packKey: string;
let bundle: string;
let runs = 0;

beforeAll(async () => {
  work = await tempDir('airgap-exit-matrix-');
  fx = await sevenKinds(work);
  const stranger = await makeGpgKey(work, 'stranger');
  await stopGpgAgent(stranger);
  // an ECDSA P-256 public key no signature of the image was made with
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await writeFile(join(work, 'cosign.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(join(work, 'apt.gpg'), await readFile(fx.aptKey.keyring));
  keys = { apt: fx.aptKey.keyring, stranger: stranger.keyring, cosign: join(work, 'cosign.pub'), arch: await nativeArch(), fileSha256: createHash('sha256').update(fx.fileBytes).digest('hex') };
  const backends = { registry: `http://${fx.registry.host}/`, site: fx.site.url, pypi: fx.pypi.url, npm: fx.npm.url };
  origins.ok = { registry: fx.registry.host, site: fx.site.url, pypi: fx.pypi.url, npm: fx.npm.url.endsWith('/') ? fx.npm.url : `${fx.npm.url}/` };
  for (const via of ['down', 'bad'] as const) {
    const fault = via === 'down' ? { status: 503 } : { corrupt: (p: string) => ARTIFACT_PATH.test(p) };
    const started = await Promise.all(Object.values(backends).map((b) => startFaultProxy(b, fault)));
    proxies.push(...started);
    const [registry, site, pypiProxy, npmProxy] = started;
    origins[via] = { registry: registry!.host, site: site!.url, pypi: pypiProxy!.url, npm: npmProxy!.url };
  }
  // no retries: a 503 is final at once (the retries themselves are test/nexus/transport.test.ts's)
  config = join(work, 'airgap.config.yaml');
  await writeFile(config, 'http:\n  retries: 0\n');
  const k = await runAirgap(['keygen', '--out-dir', join(work, 'keys'), '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  packKey = join(work, 'keys', 'outside.key');
  // the control: every section as the cases write it packs (exit 0) from the upstreams as they are
  const sections = (Object.keys(MATRIX) as ArtifactKind[]).map((kind) => happySection(kind)(origins.ok, keys)).join('');
  await writeFile(join(work, 'all.yaml'), `apiVersion: airgap/v1\nkind: Bundle\nname: all\n${sections}`);
  const r = await runAirgapJson<{ bundle: string }>(['pack', join(work, 'all.yaml'), '--out', join(work, 'out-all'), '--key', packKey, '--cache', join(work, 'cache-all'), '--config', config], { cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  bundle = r.json.bundle;
}, 600_000);

afterAll(async () => {
  await Promise.allSettled([...proxies.map((p) => p.stop()), fx?.stop()]);
});

/** The section of an ecosystem's 5xx case, pointed at the upstream as it is: what should pack. */
function happySection(kind: ArtifactKind): Section {
  const c = MATRIX[kind]['upstream 5xx'];
  if ('na' in c) throw new Error(`${kind} has no 5xx case to take the happy section from`);
  return c.section;
}

it('every command\'s --help points to docs/exit-codes.md', async () => {
  const manifest = JSON.parse(await readFile(join(repoRoot, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, { description?: string }> };
  const ids = Object.keys(manifest.commands);
  expect(ids.length).toBeGreaterThan(10);
  expect(ids.filter((id) => !manifest.commands[id]!.description?.includes('docs/exit-codes.md'))).toEqual([]);
});

it('has a row for every registered ecosystem and a case or a reason in every cell', async () => {
  await ecosystems.load('all');
  expect(ecosystems.declarations().map((d) => d.kind).sort()).toEqual(Object.keys(MATRIX).sort());
  for (const row of Object.values(MATRIX)) {
    expect(Object.keys(row).sort()).toEqual([...CLASSES].sort());
    for (const cell of Object.values(row)) {
      if ('na' in cell) expect(cell.na.length).toBeGreaterThan(10);
      else if (cell.via === 'bad') expect(cell.corrupts).toBeInstanceOf(RegExp);
    }
  }
});

const cells = (Object.entries(MATRIX) as [ArtifactKind, Record<UpstreamClass, Cell>][])
  .flatMap(([kind, row]) => (Object.entries(row) as [UpstreamClass, Cell][]).filter((e): e is [UpstreamClass, Case] => !('na' in e[1])).map(([cls, c]) => [kind, cls, c] as const));

// One flat concurrent list (not a suite per ecosystem: vitest runs suites one after the other).
describe.concurrent('pack, per ecosystem and class', () => {
  it.each(cells.map(([kind, cls, c]) => [kind, cls, c.code, c] as const))('%s: %s → exit %i', async (kind, cls, _code, c) => {
    const n = ++runs;
    const manifest = join(work, `m${n}.yaml`);
    await writeFile(manifest, `apiVersion: airgap/v1\nkind: Bundle\nname: case-${n}\n${c.section(origins[c.via ?? 'ok'], keys)}`);
    const r = await runAirgapJson<{ error?: { kind: string; exitCode: number; message: string; hint?: string } }>(
      ['pack', manifest, '--out', join(work, `out${n}`), '--key', packKey, '--cache', join(work, `cache${n}`), '--config', config], { cwd: work },
    );
    const said = `${kind} ${cls}: exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`;
    expect(r.exitCode, said).toBe(c.code);
    expect(r.json.error?.kind, said).toBe(c.kind);
    expect(r.json.error?.exitCode, said).toBe(c.code);
    const text = `${r.json.error?.message ?? ''} ${r.json.error?.hint ?? ''}`;
    for (const w of c.says) expect(text, said).toMatch(w);
    if (c.corrupts) expect(proxies.flatMap((p) => p.corrupted).some((path) => c.corrupts!.test(path)), said).toBe(true);
  }, 120_000);
});

describe('bundle classes (decided before any artifact is read)', () => {
  // Each command with a path that does not exist; verify also with a file, unpack with a folder without bundle.json.
  it.concurrent.each([
    ['verify', ['missing', 'file']], ['unpack', ['missing', 'no bundle.json']], ['inspect', ['missing']],
  ] as const)('%s of a bundle folder that does not exist, a file, or a folder without bundle.json → exit 2', async (cmd, what) => {
    await writeFile(join(work, `${cmd}-file`), 'not a bundle\n');
    const paths = { missing: join(work, `${cmd}-missing`), file: join(work, `${cmd}-file`), 'no bundle.json': work };
    for (const w of what) {
      const dir = paths[w];
      const extra = cmd === 'unpack' ? ['--to', `dir:${join(work, `${cmd}-mirror`)}`, '--ledger', join(work, `${cmd}.jsonl`)] : [];
      const pub = cmd === 'inspect' ? [] : ['--pub', join(work, 'keys', 'outside.pub')];
      const r = await runAirgap([cmd, dir, ...pub, ...extra], { cwd: work });
      expect(r.exitCode, `${cmd} ${w}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(dir);
    }
  });
});

describe('bundle trust (the bundle carries every kind)', () => {
  const mirrorArgs = (tag: string) => ['--to', `dir:${join(work, `mirror-${tag}`)}`, '--ledger', join(work, `ledger-${tag}.jsonl`)];

  it.concurrent.each([['verify'], ['unpack']])('%s with no trusted key configured → exit 2', async (cmd) => {
    const r = await runAirgap([cmd, bundle, ...(cmd === 'unpack' ? mirrorArgs('notrust') : [])], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--pub|trust/);
  });

  it.concurrent.each([['verify'], ['unpack']])('%s of a bundle signed by a key that is not trusted → exit 3', async (cmd) => {
    const s = await runAirgap(['keygen', '--out-dir', join(work, `stranger-${cmd}`), '--name', 'stranger']);
    expect(s.exitCode, s.stderr).toBe(0);
    const r = await runAirgap([cmd, bundle, '--pub', join(work, `stranger-${cmd}`, 'stranger.pub'), ...(cmd === 'unpack' ? mirrorArgs('stranger') : [])], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/untrusted|not trusted/i);
  });

  it('verify and unpack of a bundle whose bundle.json no longer matches its signature → exit 3', async () => {
    const bad = join(work, 'bad-signature');
    await execa('cp', ['-a', bundle, bad]);
    const doc = JSON.parse(await readFile(join(bad, 'bundle.json'), 'utf8')) as { name: string };
    doc.name = 'renamed';
    await writeFile(join(bad, 'bundle.json'), JSON.stringify(doc, null, 2));
    for (const cmd of ['verify', 'unpack']) {
      const r = await runAirgap([cmd, bad, '--pub', join(work, 'keys', 'outside.pub'), ...(cmd === 'unpack' ? mirrorArgs('badsig') : [])], { cwd: work });
      expect(r.exitCode, `${cmd}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(/signature/i);
    }
  });
});
