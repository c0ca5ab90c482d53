import { execa } from 'execa';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Artifact, ContentStore, IntegrityError, type PublishContext, TargetError } from '@airgap/core';
import { type PypiArtifactMeta, pypiDirPublisher, pypiSource } from '@airgap/pypi';
import { type StaticServer, startStaticServer, tempDir } from '../harness/index.js';
import { publishContext, sourceContext } from './contexts.js';
import { EXPECTED_LINUX_311, ROOTS, buildWheels } from './fixtures.js';
import { type IndexServer, startIndexServer } from './index-server.js';

/**
 * pack (library level) → dir mirror → served on loopback → the real `pip download` against it, with no
 * other index and no config, for the same target the manifest names.
 */
let work: string;
let wheels: string;
let upstream: IndexServer;
let store: ContentStore;
let artifacts: Artifact[];
const servers: (IndexServer | StaticServer)[] = [];

beforeAll(async () => {
  work = await tempDir('airgap-pypi-mirror-');
  wheels = await buildWheels(work);
  upstream = await startIndexServer(wheels);
  servers.push(upstream);
  const ctx = sourceContext(join(work, 'store'));
  store = ctx.store;
  artifacts = await pypiSource.resolve({ index: upstream.indexUrl, requirements: ROOTS, python: '3.11', platforms: ['manylinux_2_17_x86_64'] }, ctx);
  for (const a of artifacts) await pypiSource.fetch(a, ctx);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function unpack(mirror: string, list: Artifact[], ctx: PublishContext = dirContext(mirror)): Promise<string[]> {
  const actions: string[] = [];
  for (const a of list) {
    const p = await pypiDirPublisher.exists(a, ctx);
    if (p === 'absent') await pypiDirPublisher.publish(a, ctx);
    actions.push(p === 'absent' ? 'pushed' : 'present');
  }
  await pypiDirPublisher.finalize!(list, ctx);
  return actions;
}

function dirContext(path: string): PublishContext {
  return publishContext(store, { type: 'dir', name: 'dir:' + path, path, config: { type: 'dir', path } });
}

/** A static server like nginx with `index index.html`: a folder URL serves its index.html. */
async function serveMirror(root: string): Promise<StaticServer> {
  const s = await startStaticServer(root);
  s.overrides.push(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (!path.endsWith('/')) return false;
    try {
      const body = await readFile(join(root, path, 'index.html'));
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404).end();
    }
    return true;
  });
  servers.push(s);
  return s;
}

async function pipDownload(indexUrl: string, dest: string, roots: string[]) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PIP_')) env[k] = v;
  return execa('python3', [
    '-m', 'pip', 'download', '--index-url', indexUrl, '--python-version', '3.11', '--platform', 'manylinux2014_x86_64',
    '--only-binary', ':all:', '--no-cache-dir', '-d', dest, ...roots,
  ], { env: { ...env, PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' }, extendEnv: false, reject: false });
}

const sha256File = async (p: string) => {
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
};

describe('pypi dir mirror', () => {
  it('pip downloads exactly the carried set from the mirror alone', async () => {
    const mirror = join(work, 'mirror-pip');
    expect(await unpack(mirror, artifacts)).toEqual(artifacts.map(() => 'pushed'));
    const served = await serveMirror(mirror);
    const dest = join(work, 'pip-dl');
    const r = await pipDownload(`${served.url}pypi/simple/`, dest, ROOTS);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const got = (await readdir(dest)).sort();
    expect(got).toEqual(EXPECTED_LINUX_311);
    for (const f of got) expect(await sha256File(join(dest, f))).toBe(await sha256File(join(wheels, f)));
    // pip read the dependencies from the mirror's PEP 658 files rather than from the wheels.
    expect(served.requests.some((q) => q.path.endsWith('.whl.metadata'))).toBe(true);
  });

  it('writes PEP 503 pages with hashes, escaped requires-python and core-metadata', async () => {
    const mirror = join(work, 'mirror-pages');
    await unpack(mirror, artifacts);
    const root = await readFile(join(mirror, 'pypi/simple/index.html'), 'utf8');
    for (const name of ['agap-app', 'agap-lib', 'agap-native', 'agap-pinned', 'agap-speedup']) expect(root).toContain(`<a href="${name}/">${name}</a>`);
    expect(root).not.toContain('agap-winonly');
    const page = await readFile(join(mirror, 'pypi/simple/agap-app/index.html'), 'utf8');
    const app = artifacts.find((a) => a.name === 'agap-app')!;
    const metaDigest = app.blobs[1].digest.slice(7);
    expect(page).toContain(`<a href="../../files/agap-app/agap_app-1.0-py3-none-any.whl#sha256=${app.digest.slice(7)}" data-requires-python="&gt;=3.8" data-core-metadata="sha256=${metaDigest}">agap_app-1.0-py3-none-any.whl</a>`);
    expect(await sha256File(join(mirror, 'pypi/files/agap-app/agap_app-1.0-py3-none-any.whl.metadata'))).toBe(metaDigest);
  });

  it('a second unpack finds everything present; a later bundle adds to the pages without dropping earlier files', async () => {
    const mirror = join(work, 'mirror-again');
    await unpack(mirror, artifacts);
    const before = await readFile(join(mirror, 'pypi/simple/agap-lib/index.html'), 'utf8');
    const mtime = (await stat(join(mirror, 'pypi/simple/agap-lib/index.html'))).mtimeMs;
    expect(await unpack(mirror, artifacts)).toEqual(artifacts.map(() => 'present'));
    expect(await readFile(join(mirror, 'pypi/simple/agap-lib/index.html'), 'utf8')).toBe(before);
    expect((await stat(join(mirror, 'pypi/simple/agap-lib/index.html'))).mtimeMs).toBe(mtime);

    const ctx = sourceContext(join(work, 'store'));
    const later = await pypiSource.resolve({ index: upstream.indexUrl, requirements: ['agap-lib==2.0'], python: '3.11', platforms: ['manylinux_2_17_x86_64'] }, ctx);
    for (const a of later) await pypiSource.fetch(a, ctx);
    expect(await unpack(mirror, later)).toEqual(['pushed']);
    const page = await readFile(join(mirror, 'pypi/simple/agap-lib/index.html'), 'utf8');
    expect(page).toContain('agap_lib-1.0-py3-none-any.whl</a>');
    expect(page).toContain('agap_lib-2.0-py3-none-any.whl</a>');
    expect(await readFile(join(mirror, 'pypi/simple/index.html'), 'utf8')).toContain('agap-native/');
  });

  it('refuses to overwrite a different file under the same name', async () => {
    const mirror = join(work, 'mirror-conflict');
    const lib = artifacts.find((a) => a.name === 'agap-lib')!;
    const path = join(mirror, 'pypi/files/agap-lib', (lib.meta as unknown as PypiArtifactMeta).filename);
    await mkdir(join(mirror, 'pypi/files/agap-lib'), { recursive: true });
    await writeFile(path, 'not the wheel');
    const err = await pypiDirPublisher.exists(lib, dirContext(mirror)).catch((e) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect(err.message).toContain(path);
    expect((await stat(path)).size).toBe('not the wheel'.length);
  });

  it('refuses a file name that would leave the mirror', async () => {
    const lib = artifacts.find((a) => a.name === 'agap-lib')!;
    const hostile = { ...lib, meta: { ...lib.meta, filename: '../../../etc/x.whl' } };
    await expect(pypiDirPublisher.exists(hostile, dirContext(join(work, 'mirror-hostile')))).rejects.toBeInstanceOf(IntegrityError);
    const badName = { ...lib, name: '../lib' };
    await expect(pypiDirPublisher.publish(badName, dirContext(join(work, 'mirror-hostile')))).rejects.toBeInstanceOf(IntegrityError);
  });
});
