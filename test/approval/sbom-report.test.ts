/**
 * Issue 17 "must show": a bundle of all seven kinds (real upstreams, test/approval/seven-kinds.ts) carries
 * a CycloneDX SBOM that the official schema accepts (the library's strict JSON validator) with the expected
 * purl, sha256, licence and dependencies per artifact; unpack keeps it beside the ledger; `airgap report`
 * renders a self-contained HTML file that headless Chromium opens (DOM and screenshot checked), plus
 * Markdown, JSON and SPDX 2.3; verified with a key, plainly UNVERIFIED without, refused when tampered.
 */
import { createHash } from 'node:crypto';
import { appendFile, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';
import { makeGpgKey, stopGpgAgent } from '../apt/upstream.js';
import { type SevenKinds, sevenKinds } from './seven-kinds.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let work: string;
let keys: string;
let fx: SevenKinds;
let bundle: string;

interface IndexArtifact { kind: string; name: string; version: string; platform?: string; digest: string }
interface Component {
  'bom-ref': string; type: string; name: string; version?: string; purl: string;
  hashes?: { alg: string; content: string }[];
  licenses?: { license?: { id?: string; name?: string }; expression?: string }[];
  externalReferences?: { url: string; type: string }[];
  properties?: { name: string; value: string }[];
}
interface Cdx { specVersion: string; metadata: { component: { name: string } }; components: Component[]; dependencies: { ref: string; dependsOn?: string[] }[] }

async function tarEntry(dir: string, entry: string): Promise<Buffer> {
  const parts = (await readdir(dir)).filter((f) => /^part-\d+$/.test(f)).sort().map((f) => join(dir, f));
  const { stdout } = await execa('sh', ['-c', 'cat "$@" | tar -xOf - ' + entry, 'sh', ...parts], { encoding: 'buffer', stripFinalNewline: false });
  return Buffer.from(stdout);
}

beforeAll(async () => {
  work = await tempDir('airgap-approval-');
  keys = join(work, 'keys');
  for (const name of ['outside', 'stranger']) {
    const k = await runAirgap(['keygen', '--out-dir', keys, '--name', name]);
    expect(k.exitCode, k.stderr).toBe(0);
  }
  fx = await sevenKinds(work);
  await writeFile(join(work, 'all.yaml'), fx.manifest('seven'));
  const r = await runAirgapJson<{ bundle: string }>(['pack', join(work, 'all.yaml'), '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  bundle = r.json.bundle;
}, 600_000);

afterAll(async () => {
  await fx?.stop();
});

describe('the SBOM inside every bundle', () => {
  it('is listed in the signed bundle.json, validates against CycloneDX 1.6 (strict) and holds every artifact with purl, sha256, licence and dependencies', async () => {
    const descriptor = JSON.parse(await readFile(join(bundle, 'bundle.json'), 'utf8'));
    const bytes = await tarEntry(bundle, 'sbom.cdx.json');
    expect(descriptor.sbom).toEqual({ entry: 'sbom.cdx.json', sha256: sha256(bytes), size: bytes.length, format: 'CycloneDX 1.6 JSON' });

    const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6);
    expect(await validator.validate(bytes.toString('utf8'))).toBeNull();

    const sbom = JSON.parse(bytes.toString('utf8')) as Cdx;
    const index = JSON.parse((await tarEntry(bundle, 'airgap-index.json')).toString('utf8')) as { artifacts: IndexArtifact[] };
    expect(sbom.specVersion).toBe('1.6');
    expect(sbom.metadata.component.name).toBe('seven');
    expect(new Set(index.artifacts.map((a) => a.kind))).toEqual(new Set(['image', 'chart', 'apt', 'yum', 'pypi', 'npm', 'file']));
    expect(sbom.components).toHaveLength(index.artifacts.length);
    // Every artifact of the index is a component with its sha256.
    for (const a of index.artifacts) {
      const c = sbom.components.find((x) => x.properties?.some((p) => p.name === 'airgap:digest' && p.value === a.digest) && x.name === a.name && (x.version ?? '') === a.version);
      expect(c, `${a.kind} ${a.name}@${a.version}`).toBeDefined();
      expect(c!.hashes).toContainEqual({ alg: 'SHA-256', content: a.digest.slice('sha256:'.length) });
      expect(c!.externalReferences?.[0]?.type).toBe('distribution');
    }
    const byPurl = new Map(sbom.components.map((c) => [c.purl, c]));
    const charts = encodeURIComponent(`${fx.site.url}charts`);
    const image = index.artifacts.find((a) => a.kind === 'image' && a.version === '1.36')!;
    const file = index.artifacts.find((a) => a.kind === 'file')!;
    const arch = index.artifacts.find((a) => a.kind === 'apt')!.platform ?? (await execa('dpkg', ['--print-architecture'])).stdout.trim();
    const expected: [string, string | undefined][] = [
      [`pkg:oci/busybox@${image.digest}?repository_url=${encodeURIComponent(`${fx.registry.host}/tools/busybox`)}&tag=1.36`, 'GPL-2.0-only'],
      [`pkg:helm/web@1.2.0?repository_url=${charts}`, 'Apache-2.0'],
      [`pkg:helm/cache@0.3.0?repository_url=${charts}`, undefined],
      [`pkg:deb/webapp@1.0-1?arch=${arch}&distro=stable`, undefined],
      [`pkg:deb/libweb@2.1-1?arch=${arch}&distro=stable`, undefined],
      ['pkg:rpm/tool@1.0-1?arch=noarch', 'MIT'],
      ['pkg:rpm/libtool@2.0-1?arch=noarch&epoch=1', 'MIT'],
      ['pkg:pypi/agap-app@1.0?file_name=agap_app-1.0-py3-none-any.whl', 'BSD-3-Clause'],
      ['pkg:pypi/agap-lib@1.0?file_name=agap_lib-1.0-py3-none-any.whl', 'MIT'],
      ['pkg:npm/fx-core@1.0.0', 'MIT'],
      ['pkg:npm/fx-util@1.2.0', 'MIT'],
      ['pkg:npm/%40fx/scoped@1.0.0', 'MIT'],
      [`pkg:generic/velero.sh?checksum=${encodeURIComponent(`sha256:${sha256(fx.fileBytes)}`)}&download_url=${encodeURIComponent(`${fx.site.url}velero.sh`)}#tools/velero.sh`, undefined],
    ];
    for (const [purl, license] of expected) {
      const c = byPurl.get(purl);
      expect(c, `${purl} among ${[...byPurl.keys()].join(' ')}`).toBeDefined();
      if (license) expect(c!.licenses).toEqual([{ license: { id: license } }]);
      else expect(c!.licenses ?? []).toEqual([]);
    }
    expect(byPurl.get(expected[12][0])!.hashes).toContainEqual({ alg: 'SHA-256', content: sha256(fx.fileBytes) });
    // npm's sha512 integrity travels as a second hash.
    expect(byPurl.get('pkg:npm/fx-core@1.0.0')!.hashes!.map((h) => h.alg).sort()).toEqual(['SHA-256', 'SHA-512']);

    const deps = new Map(sbom.dependencies.map((d) => [d.ref, d.dependsOn ?? []]));
    const ref = (purl: string) => byPurl.get(purl)!['bom-ref'];
    expect(deps.get(ref(expected[1][0]))).toEqual([ref(expected[2][0])]);
    expect(deps.get(ref(expected[3][0]))).toEqual([ref(expected[4][0])]);
    expect(deps.get(ref(expected[7][0]))).toEqual([ref(expected[8][0])]);
    expect(deps.get(ref('pkg:npm/fx-core@1.0.0'))).toEqual([ref('pkg:npm/fx-util@1.2.0')]);
  });

  it('unpack keeps it beside the ledger, named by the bundle', async () => {
    const inside = await makeGpgKey(work, 'inside');
    await stopGpgAgent(inside);
    const config = join(work, 'inside.yaml');
    await writeFile(config, `trust: [${join(keys, 'outside.pub')}]\ntargets:\n  mirror:\n    type: dir\n    path: ${join(work, 'mirror')}\n    apt:\n      gpgKey: ${inside.secretKey}\n`);
    const ledger = join(work, 'ledger', 'airgap-ledger.jsonl');
    const r = await runAirgapJson<{ sbom: string; failures: unknown[] }>(['unpack', bundle, '--to', 'mirror', '--config', config, '--ledger', ledger], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    const name = bundle.split('/').pop()!;
    expect(r.json.sbom).toBe(join(work, 'ledger', `${name}.cdx.json`));
    expect(await readFile(r.json.sbom)).toEqual(await tarEntry(bundle, 'sbom.cdx.json'));
  }, 300_000);
});

const CHROMIUM = '/usr/bin/chromium';
/** Headless Debian chromium with a fresh profile and nothing that phones home. */
async function chromium(args: string[]) {
  const profile = join(work, `chromium-profile-${Math.random().toString(36).slice(2)}`);
  return execa(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', `--user-data-dir=${profile}`, ...args,
  ], { timeout: 120_000 });
}

describe('airgap report', () => {
  let html: string;
  let htmlFile: string;

  beforeAll(async () => {
    htmlFile = join(work, 'approval.html');
    const r = await runAirgap(['report', bundle, '--pub', join(keys, 'outside.pub'), '--out', htmlFile], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    html = await readFile(htmlFile, 'utf8');
  }, 120_000);

  it('writes one self-contained HTML file: no script, stylesheet, image, frame or URL that it would load', () => {
    expect(html).toMatch(/^<!DOCTYPE html>/);
    for (const bad of [/<script/i, /<link/i, /<img/i, /<iframe/i, /<object/i, /<embed/i, /\ssrc\s*=/i, /\shref\s*=/i, /url\(/i, /@import/i, /\sxmlns(:\w+)?\s*=/i]) {
      expect(html, String(bad)).not.toMatch(bad);
    }
    // Upstream URLs are shown as text; none is inside a tag (where it could be loaded).
    const tags = html.match(/<[^>]*>/g) ?? [];
    expect(tags.filter((t) => /https?:|\/\//i.test(t))).toEqual([]);
    expect(html).toContain('<svg role="img" aria-label="size by kind"');
  });

  it('opens in headless Chromium: the DOM holds the facts and one table per kind, and a screenshot shows them', async () => {
    const dom = (await chromium(['--dump-dom', `file://${htmlFile}`])).stdout;
    const index = JSON.parse((await tarEntry(bundle, 'airgap-index.json')).toString('utf8')) as { artifacts: IndexArtifact[] };
    const descriptor = JSON.parse(await readFile(join(bundle, 'bundle.json'), 'utf8'));
    expect(dom).toContain(`VERIFIED: bundle.json is signed by trusted key ${descriptor.signer}`);
    expect(dom).toContain('<dt>Signer key id</dt><dd><code>' + descriptor.signer + '</code> (verified)</dd>');
    expect(dom).toContain(`<dt>Created</dt><dd>${descriptor.created}</dd>`);
    for (const kind of ['image', 'chart', 'apt', 'yum', 'pypi', 'npm', 'file']) {
      const table = new RegExp(`<table id="artifacts-${kind}">([\\s\\S]*?)</table>`).exec(dom)?.[1] ?? '';
      const rows = (table.match(/<tr>/g) ?? []).length - 1; // minus the header row
      expect(rows, kind).toBe(index.artifacts.filter((a) => a.kind === kind).length);
    }
    for (const p of descriptor.parts) expect(dom).toContain(p.sha256);
    expect(dom).toMatch(/<td>Apache-2.0<\/td>/);
    expect(dom).toMatch(/<rect [^>]*fill=/);

    const png = join(work, 'approval.png');
    await chromium(['--hide-scrollbars', '--window-size=1400,2400', `--screenshot=${png}`, `file://${htmlFile}`]);
    const shot = await readFile(png);
    expect(shot.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(shot.readUInt32BE(16)).toBe(1400); // IHDR width
    // A page of tables compresses far worse than a blank page (a blank 1400x2400 PNG is a few KiB).
    expect((await stat(png)).size).toBeGreaterThan(50_000);
  }, 300_000);

  it('gives the same facts as JSON and Markdown, and an SPDX 2.3 document of every artifact', async () => {
    const json = await runAirgapJson<{ verification: { verified: boolean; signer: string }; artifacts: Record<string, { purl: string; licenses: string[] }[]>; parts: unknown[] }>(
      ['report', bundle, '--pub', join(keys, 'outside.pub'), '--format', 'json'], { cwd: work });
    expect(json.exitCode, json.stderr).toBe(0);
    const descriptor = JSON.parse(await readFile(join(bundle, 'bundle.json'), 'utf8'));
    expect(json.json.verification.verified).toBe(true);
    expect(json.json.verification.signer).toBe(descriptor.signer);
    expect(Object.keys(json.json.artifacts)).toEqual(['image', 'chart', 'apt', 'yum', 'pypi', 'npm', 'file']);
    expect(json.json.artifacts.npm.find((a) => a.purl === 'pkg:npm/fx-core@1.0.0')?.licenses).toEqual(['MIT']);

    const md = await runAirgap(['report', bundle, '--pub', join(keys, 'outside.pub'), '--format', 'md'], { cwd: work });
    expect(md.exitCode, md.stderr).toBe(0);
    expect(md.stdout).toContain(`> **VERIFIED: bundle.json is signed by trusted key ${descriptor.signer}`);
    expect(md.stdout).toContain('| Name | Version | Platform | Size | Upstream | How verified | Licence | purl | Digest |');
    expect(md.stdout).toMatch(/## npm packages \(3\)/);

    const spdxFile = join(work, 'sbom.spdx.json');
    const spdx = await runAirgap(['report', bundle, '--pub', join(keys, 'outside.pub'), '--format', 'spdx', '--out', spdxFile], { cwd: work });
    expect(spdx.exitCode, spdx.stderr).toBe(0);
    const doc = JSON.parse(await readFile(spdxFile, 'utf8'));
    const index = JSON.parse((await tarEntry(bundle, 'airgap-index.json')).toString('utf8')) as { artifacts: IndexArtifact[] };
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(doc.dataLicense).toBe('CC0-1.0');
    expect(doc.packages).toHaveLength(index.artifacts.length);
    for (const p of doc.packages) {
      expect(p.externalRefs[0]).toMatchObject({ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl' });
      expect(p.checksums[0].algorithm).toBe('SHA256');
    }
    const web = doc.packages.find((p: { name: string }) => p.name === 'web');
    const cache = doc.packages.find((p: { name: string }) => p.name === 'cache');
    expect(web.licenseDeclared).toBe('Apache-2.0');
    expect(doc.relationships).toContainEqual({ spdxElementId: web.SPDXID, relationshipType: 'DEPENDS_ON', relatedSpdxElement: cache.SPDXID });

    const cdx = await runAirgap(['report', bundle, '--pub', join(keys, 'outside.pub'), '--format', 'cyclonedx'], { cwd: work });
    expect(cdx.exitCode, cdx.stderr).toBe(0);
    expect(cdx.stdout.trimEnd()).toBe((await tarEntry(bundle, 'sbom.cdx.json')).toString('utf8').trimEnd());
  }, 120_000);

  it('without a key says plainly, first, that the bundle is UNVERIFIED', async () => {
    const r = await runAirgap(['report', bundle, '--format', 'html'], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/<div id="trust" class="banner bad">UNVERIFIED: no trusted key was given/);
    expect(r.stdout).toContain('(claimed, NOT verified)');
    expect(r.stderr).toContain('UNVERIFIED');
    const md = await runAirgap(['report', bundle, '--format', 'md'], { cwd: work });
    expect(md.stdout.split('\n')[2]).toMatch(/^> \*\*UNVERIFIED: /);
  });

  it('with a key refuses (exit 3) a bundle signed by another key or damaged after signing, and writes no report', async () => {
    const out = join(work, 'refused.html');
    const stranger = await runAirgap(['report', bundle, '--pub', join(keys, 'stranger.pub'), '--out', out], { cwd: work });
    expect(stranger.exitCode, stranger.stderr).toBe(3);
    const copy = join(work, 'damaged');
    await execa('cp', ['-r', bundle, copy]);
    await appendFile(join(copy, 'part-00001'), 'x');
    const damaged = await runAirgap(['report', copy, '--pub', join(keys, 'outside.pub'), '--out', out], { cwd: work });
    expect(damaged.exitCode, damaged.stderr).toBe(3);
    expect(damaged.stderr).toContain('part-00001');
    await expect(stat(out)).rejects.toThrow();
  });
});
