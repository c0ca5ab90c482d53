import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type Artifact, type Descriptor, type PublishContext, type PublishHalf, IntegrityError, TargetError, digestHex, writeFileAtomic, fileDigest, writeStreamAtomic } from '@airgap/core';
import { htmlEscape } from './simple-index.js';
import type { PypiArtifactMeta } from './source.js';

/**
 * The `dir:` mirror (SPEC §7): `pypi/files/<name>/<file>` (+ `<file>.metadata`), and a PEP 503 index
 * under `pypi/simple/` that pip uses directly (`--index-url <mirror>/pypi/simple/`). Links carry
 * `#sha256=`, `data-requires-python` (HTML-escaped) and `data-core-metadata` for files whose
 * `.metadata` is served (repo-formats.md §5, pitfall 1). Each file has a small record under
 * `pypi/.airgap/<name>/` so that `finalize` regenerates the pages from everything the mirror holds,
 * from this bundle and from earlier ones, without hashing the files again.
 */

interface FileRecord {
  filename: string;
  sha256: string;
  requiresPython?: string;
  metadataSha256?: string;
}

const NAME_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const FILE_RE = /^[A-Za-z0-9][A-Za-z0-9._+!-]*$/;

interface Layout {
  root: string;
  name: string;
  meta: PypiArtifactMeta;
  file: string;
  metadata?: { path: string; blob: Descriptor };
  record: string;
}

function layout(artifact: Artifact, ctx: PublishContext): Layout {
  if (ctx.target.type !== 'dir') throw new TargetError('pypi dir publisher used with a non-dir target');
  const meta = artifact.meta as unknown as PypiArtifactMeta;
  // Both come from the signed, verified index; they are still checked so nothing lands outside pypi/.
  if (!NAME_RE.test(artifact.name) || !meta?.filename || !FILE_RE.test(meta.filename) || meta.filename.includes('..')) {
    throw new IntegrityError(`pypi: unsafe project or file name in the bundle index: ${JSON.stringify(artifact.name)} / ${JSON.stringify(meta?.filename)}`, { subject: artifact.name });
  }
  const root = join(ctx.target.path, 'pypi');
  const dir = join(root, 'files', artifact.name);
  return {
    root,
    name: artifact.name,
    meta,
    file: join(dir, meta.filename),
    metadata: artifact.blobs[1] ? { path: join(dir, meta.filename + '.metadata'), blob: artifact.blobs[1] } : undefined,
    record: join(root, '.airgap', artifact.name, meta.filename + '.json'),
  };
}


async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}


function recordOf(artifact: Artifact, l: Layout): FileRecord {
  return {
    filename: l.meta.filename,
    sha256: digestHex(artifact.blobs[0].digest),
    requiresPython: l.meta.requiresPython,
    metadataSha256: l.metadata ? digestHex(l.metadata.blob.digest) : undefined,
  };
}

export const pypiDirPublisher: PublishHalf = {
  async exists(artifact, ctx) {
    const l = layout(artifact, ctx);
    const have = await fileDigest(l.file);
    if (have === undefined) return 'absent';
    if (have !== artifact.blobs[0].digest) {
      throw new TargetError(`${l.file} already exists with different content than ${artifact.name} ${artifact.version} (${artifact.blobs[0].digest})`, {
        subject: l.file,
        hint: 'a package file never changes under the same name: find out where the other file came from before replacing it',
      });
    }
    if (l.metadata && (await fileDigest(l.metadata.path)) !== l.metadata.blob.digest) return 'absent';
    if (!(await exists(l.record))) return 'absent';
    return 'present';
  },

  async publish(artifact, ctx) {
    const l = layout(artifact, ctx);
    if ((await fileDigest(l.file)) !== artifact.blobs[0].digest) await writeStreamAtomic(ctx.blobs.open(artifact.blobs[0]), l.file);
    if (l.metadata) await writeStreamAtomic(ctx.blobs.open(l.metadata.blob), l.metadata.path);
    await mkdir(dirname(l.record), { recursive: true });
    await writeFileAtomic(l.record, JSON.stringify(recordOf(artifact, l)));
  },

  async finalize(artifacts, ctx) {
    if (ctx.target.type !== 'dir' || artifacts.length === 0) return;
    const root = join(ctx.target.path, 'pypi');
    const touched = new Set<string>();
    for (const a of artifacts) {
      const l = layout(a, ctx);
      touched.add(l.name);
      // A file published by an earlier run (present now) keeps its record; write one if it was lost.
      if (!(await exists(l.record)) && (await exists(l.file))) {
        await mkdir(dirname(l.record), { recursive: true });
        await writeFileAtomic(l.record, JSON.stringify(recordOf(a, l)));
      }
    }
    for (const name of touched) await writeProjectPage(root, name);
    await writeRootPage(root);
  },
};

async function readRecords(root: string, name: string): Promise<FileRecord[]> {
  const dir = join(root, '.airgap', name);
  const out: FileRecord[] = [];
  for (const f of (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort()) {
    const rec = JSON.parse(await readFile(join(dir, f), 'utf8')) as FileRecord;
    if (await exists(join(root, 'files', name, rec.filename))) out.push(rec);
  }
  return out;
}

function page(title: string, links: string[]): string {
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    '    <meta name="pypi:repository-version" content="1.0">',
    `    <title>${htmlEscape(title)}</title>`,
    '  </head>',
    '  <body>',
    `    <h1>${htmlEscape(title)}</h1>`,
    ...links.map((l) => `    ${l}<br/>`),
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

async function writeProjectPage(root: string, name: string): Promise<void> {
  const records = await readRecords(root, name);
  const links = records.map((r) => {
    const href = `../../files/${name}/${encodeURIComponent(r.filename)}#sha256=${r.sha256}`;
    let attrs = `href="${htmlEscape(href)}"`;
    if (r.requiresPython) attrs += ` data-requires-python="${htmlEscape(r.requiresPython)}"`;
    if (r.metadataSha256) attrs += ` data-core-metadata="sha256=${r.metadataSha256}"`;
    return `<a ${attrs}>${htmlEscape(r.filename)}</a>`;
  });
  await writeIfChanged(join(root, 'simple', name, 'index.html'), page(`Links for ${name}`, links));
}

/** A re-run that adds nothing leaves the mirror untouched (mtimes too: mirrors sync by them). */
async function writeIfChanged(path: string, text: string): Promise<void> {
  if ((await readFile(path, 'utf8').catch(() => undefined)) === text) return;
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, text);
}

async function writeRootPage(root: string): Promise<void> {
  const names: string[] = [];
  for (const name of (await readdir(join(root, '.airgap')).catch(() => [] as string[])).sort()) {
    if (NAME_RE.test(name) && (await readRecords(root, name)).length) names.push(name);
  }
  await writeIfChanged(join(root, 'simple', 'index.html'), page('Simple index', names.map((n) => `<a href="${n}/">${n}</a>`)));
}
