import { type Artifact, type ConfinedRoot, type Descriptor, type PublishContext, type PublishHalf, IntegrityError, digestHex, dirMirror, filePresence } from '@airgap/core';
import { htmlEscape } from './simple-index.js';
import type { PypiArtifactMeta } from './source.js';

/**
 * The `dir:` mirror (docs/design.md): `pypi/files/<name>/<file>` (+ `<file>.metadata`), and a PEP 503 index
 * under `pypi/simple/` that pip uses directly (`--index-url <mirror>/pypi/simple/`). Links carry
 * `#sha256=`, `data-requires-python` (HTML-escaped) and `data-core-metadata` for files whose
 * `.metadata` is served (docs/reference/repo-formats.md §5, pitfall 1). Each file has a small record under
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
  /** `pypi/` of the mirror: every write goes through it (docs/security.md); the paths below are relative to it. */
  root: ConfinedRoot;
  name: string;
  meta: PypiArtifactMeta;
  file: string;
  metadata?: { path: string; blob: Descriptor };
  record: string;
}

function layout(artifact: Artifact, ctx: PublishContext): Layout {
  const meta = artifact.meta as unknown as PypiArtifactMeta;
  // Both come from the signed, verified index; they are still checked so nothing lands outside pypi/.
  if (!NAME_RE.test(artifact.name) || !meta?.filename || !FILE_RE.test(meta.filename) || meta.filename.includes('..')) {
    throw new IntegrityError(`pypi: unsafe project or file name in the bundle index: ${JSON.stringify(artifact.name)} / ${JSON.stringify(meta?.filename)}`, { subject: artifact.name });
  }
  const dir = `files/${artifact.name}`;
  return {
    root: dirMirror(ctx, 'pypi'),
    name: artifact.name,
    meta,
    file: `${dir}/${meta.filename}`,
    metadata: artifact.blobs[1] ? { path: `${dir}/${meta.filename}.metadata`, blob: artifact.blobs[1] } : undefined,
    record: `.airgap/${artifact.name}/${meta.filename}.json`,
  };
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
    // The package file itself: presence by digest, never overwrite (the core's check).
    if ((await filePresence(l.root, l.file, artifact.blobs[0], `${artifact.name} ${artifact.version}`)) === 'absent') return 'absent';
    if (l.metadata && (await l.root.digest(l.metadata.path)) !== l.metadata.blob.digest) return 'absent';
    if (!(await l.root.isFile(l.record))) return 'absent';
    return 'present';
  },

  async publish(artifact, ctx) {
    const l = layout(artifact, ctx);
    if ((await l.root.digest(l.file)) !== artifact.blobs[0].digest) await l.root.writeStream(l.file, ctx.blobs.open(artifact.blobs[0]));
    if (l.metadata) await l.root.writeStream(l.metadata.path, ctx.blobs.open(l.metadata.blob));
    await l.root.writeFile(l.record, JSON.stringify(recordOf(artifact, l)));
  },

  async finalize(artifacts, ctx) {
    if (ctx.target.type !== 'dir' || artifacts.length === 0) return;
    const root = dirMirror(ctx, 'pypi');
    const touched = new Set<string>();
    for (const a of artifacts) {
      const l = layout(a, ctx);
      touched.add(l.name);
      // A file published by an earlier run (present now) keeps its record; write one if it was lost.
      if (!(await root.isFile(l.record)) && (await root.isFile(l.file))) await root.writeFile(l.record, JSON.stringify(recordOf(a, l)));
    }
    for (const name of touched) await writeProjectPage(root, name);
    await writeRootPage(root);
  },
};

async function readRecords(root: ConfinedRoot, name: string): Promise<FileRecord[]> {
  const dir = `.airgap/${name}`;
  const out: FileRecord[] = [];
  for (const f of (await root.readdir(dir)).map((e) => e.name).filter((f) => f.endsWith('.json')).sort()) {
    const rec = JSON.parse((await root.readFile(`${dir}/${f}`, 'utf8')) ?? '{}') as FileRecord;
    // A record names a file; one that is not a safe file name (a damaged mirror) lists nothing.
    if (typeof rec.filename === 'string' && FILE_RE.test(rec.filename) && (await root.isFile(`files/${name}/${rec.filename}`))) out.push(rec);
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

async function writeProjectPage(root: ConfinedRoot, name: string): Promise<void> {
  const records = await readRecords(root, name);
  const links = records.map((r) => {
    const href = `../../files/${name}/${encodeURIComponent(r.filename)}#sha256=${r.sha256}`;
    let attrs = `href="${htmlEscape(href)}"`;
    if (r.requiresPython) attrs += ` data-requires-python="${htmlEscape(r.requiresPython)}"`;
    if (r.metadataSha256) attrs += ` data-core-metadata="sha256=${r.metadataSha256}"`;
    return `<a ${attrs}>${htmlEscape(r.filename)}</a>`;
  });
  await writeIfChanged(root, `simple/${name}/index.html`, page(`Links for ${name}`, links));
}

/** A re-run that adds nothing leaves the mirror untouched (mtimes too: mirrors sync by them). */
async function writeIfChanged(root: ConfinedRoot, path: string, text: string): Promise<void> {
  if ((await root.readFile(path, 'utf8').catch(() => undefined)) === text) return;
  await root.writeFile(path, text);
}

async function writeRootPage(root: ConfinedRoot): Promise<void> {
  const names: string[] = [];
  for (const name of (await root.readdir('.airgap')).map((e) => e.name).sort()) {
    if (NAME_RE.test(name) && (await readRecords(root, name)).length) names.push(name);
  }
  await writeIfChanged(root, 'simple/index.html', page('Simple index', names.map((n) => `<a href="${n}/">${n}</a>`)));
}
