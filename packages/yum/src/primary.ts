import { SaxesParser, type SaxesTagNS } from 'saxes';
import { AirgapError, UpstreamError } from '@airgap/core';
import type { Evr, Flag } from './vercmp.js';

/**
 * Streaming readers of the repodata XML (docs/reference/repo-formats.md §4). primary.xml of a large repository is
 * hundreds of MB uncompressed, so it is never held as a DOM: saxes (a maintained, strict, namespace-aware
 * SAX parser with types) emits events while chunks stream through, and only the fields the closure and
 * the fetch need are kept per package.
 */

const COMMON = 'http://linux.duke.edu/metadata/common';
const RPM = 'http://linux.duke.edu/metadata/rpm';
const REPO = 'http://linux.duke.edu/metadata/repo';
const FILELISTS = 'http://linux.duke.edu/metadata/filelists';
const XML = 'http://www.w3.org/XML/1998/namespace';

export interface Dep {
  name: string;
  flags?: Flag;
  evr?: Evr;
}

export interface RpmPackage {
  name: string;
  arch: string;
  epoch: string;
  version: string;
  release: string;
  checksum: { type: string; value: string };
  size: number;
  /** location href, relative to `base` (xml:base) or the repository base URL. */
  href: string;
  base?: string;
  provides: Dep[];
  requires: Dep[];
  /** Files primary lists (only /etc/*, *bin/*, /usr/lib/sendmail: docs/reference/repo-formats.md §4). */
  files: string[];
  /** The rpm header's License tag (`<rpm:license>` in primary), for the SBOM (docs/approval.md). */
  license?: string;
}

export interface RepomdEntry {
  type: string;
  href: string;
  checksum: { type: string; value: string };
  openChecksum?: { type: string; value: string };
  size?: number;
}

type Sink = (parser: SaxesParser<{ xmlns: true }>) => void;

/** Feed a stream of XML bytes to a namespace-aware saxes parser set up by `setup`. */
export async function parseXml(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, setup: Sink, what: string): Promise<void> {
  const parser = new SaxesParser({ xmlns: true, fileName: what });
  setup(parser);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const c of chunks) parser.write(decoder.decode(c, { stream: true }));
    parser.write(decoder.decode());
    parser.close();
  } catch (e) {
    if (e instanceof AirgapError) throw e;
    // saxes and TextDecoder throw plain errors: say which file is malformed.
    throw new UpstreamError(`${what}: not well-formed XML: ${(e as Error).message}`, { subject: what, hint: 'the repository metadata is broken or not repodata at all', cause: e });
  }
}

const attr = (tag: SaxesTagNS, local: string, uri = ''): string | undefined => {
  for (const a of Object.values(tag.attributes)) if (a.local === local && a.uri === uri) return a.value;
  return undefined;
};

/**
 * Kept strings are copied out of the parser's chunk (V8 keeps a whole chunk alive for any slice of it)
 * and shared: the same requirement names, versions and arches recur across thousands of packages.
 */
type Intern = <T extends string | undefined>(s: T) => T;

function interner(): Intern {
  const seen = new Map<string, string>();
  return (<T extends string | undefined>(s: T): T => {
    if (s === undefined) return s;
    let v = seen.get(s);
    if (v === undefined) {
      v = (' ' + s).slice(1);
      seen.set(v, v);
    }
    return v as T;
  });
}

/** The `<data>` entries of repomd.xml. */
export async function readRepomd(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, what: string): Promise<RepomdEntry[]> {
  const out: RepomdEntry[] = [];
  let cur: Partial<RepomdEntry> | undefined;
  let text = '';
  let inText: 'checksum' | 'open-checksum' | 'size' | undefined;
  let sumType = '';
  await parseXml(chunks, (p) => {
    p.on('opentag', (t) => {
      if (t.uri !== REPO) return;
      if (t.local === 'data') cur = { type: attr(t, 'type') };
      else if (cur && t.local === 'location') cur.href = attr(t, 'href');
      else if (cur && (t.local === 'checksum' || t.local === 'open-checksum' || t.local === 'size')) {
        inText = t.local;
        sumType = attr(t, 'type') ?? '';
        text = '';
      }
    });
    p.on('text', (t) => { if (inText) text += t; });
    p.on('closetag', (t) => {
      if (t.uri !== REPO) return;
      if (cur && inText && t.local === inText) {
        const v = text.trim();
        if (inText === 'checksum') cur.checksum = { type: sumType, value: v.toLowerCase() };
        else if (inText === 'open-checksum') cur.openChecksum = { type: sumType, value: v.toLowerCase() };
        else cur.size = Number(v);
        inText = undefined;
      } else if (t.local === 'data' && cur) {
        if (cur.type && cur.href && cur.checksum) out.push(cur as RepomdEntry);
        cur = undefined;
      }
    });
  }, what);
  return out;
}

function depOf(t: SaxesTagNS, intern: Intern): Dep {
  const name = intern(attr(t, 'name') ?? '');
  const flags = intern(attr(t, 'flags')) as Flag | undefined;
  const ver = attr(t, 'ver');
  if (!flags || ver === undefined) return { name };
  return { name, flags, evr: { epoch: intern(attr(t, 'epoch')), version: intern(ver), release: intern(attr(t, 'rel')) } };
}

/** Every `<package>` of primary.xml, with what the closure and the fetch need. */
export async function readPrimary(chunks: AsyncIterable<Uint8Array>, what: string, onPackage: (p: RpmPackage) => void): Promise<void> {
  let pkg: RpmPackage | undefined;
  let list: Dep[] | undefined;
  let text: string | undefined;
  const intern = interner();
  const copy = (s: string) => (' ' + s).slice(1);
  await parseXml(chunks, (p) => {
    p.on('opentag', (t) => {
      if (t.uri === COMMON) {
        switch (t.local) {
          case 'package':
            pkg = attr(t, 'type') === 'rpm' || attr(t, 'type') === undefined
              ? { name: '', arch: '', epoch: '0', version: '', release: '', checksum: { type: '', value: '' }, size: 0, href: '', provides: [], requires: [], files: [] }
              : undefined;
            break;
          case 'name': case 'arch': case 'file':
            if (pkg) text = '';
            break;
          case 'checksum':
            if (pkg) {
              pkg.checksum.type = intern(attr(t, 'type') ?? '');
              text = '';
            }
            break;
          case 'version':
            if (pkg) {
              pkg.epoch = intern(attr(t, 'epoch') || '0');
              pkg.version = intern(attr(t, 'ver') ?? '');
              pkg.release = intern(attr(t, 'rel') ?? '');
            }
            break;
          case 'size':
            if (pkg) pkg.size = Number(attr(t, 'package') ?? 0);
            break;
          case 'location':
            if (pkg) {
              pkg.href = copy(attr(t, 'href') ?? '');
              pkg.base = intern(attr(t, 'base', XML));
            }
            break;
        }
      } else if (t.uri === RPM && pkg) {
        if (t.local === 'license') text = '';
        else if (t.local === 'provides') list = pkg.provides;
        else if (t.local === 'requires') list = pkg.requires;
        else if (t.local === 'entry' && list) {
          // pre="1" (Requires(pre)) is still a requirement for the closure.
          list.push(depOf(t, intern));
        }
      }
    });
    p.on('text', (s) => { if (text !== undefined) text += s; });
    p.on('closetag', (t) => {
      if (t.uri === RPM && (t.local === 'provides' || t.local === 'requires')) list = undefined;
      if (t.uri === RPM && t.local === 'license' && pkg && text !== undefined) {
        if (text.trim()) pkg.license = intern(text.trim());
        text = undefined;
      }
      if (t.uri !== COMMON || !pkg) return;
      switch (t.local) {
        case 'name': pkg.name = intern(text!.trim()); text = undefined; break;
        case 'arch': pkg.arch = intern(text!.trim()); text = undefined; break;
        case 'checksum': pkg.checksum.value = copy(text!.trim().toLowerCase()); text = undefined; break;
        case 'file': pkg.files.push(intern(text!.trim())); text = undefined; break;
        case 'package': onPackage(pkg); pkg = undefined; break;
      }
    });
  }, what);
}

/** From filelists.xml: which packages (by pkgid = primary's checksum) hold each of `wanted`. */
export async function readFilelists(chunks: AsyncIterable<Uint8Array>, what: string, wanted: Set<string>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  let pkgid: string | undefined;
  let text: string | undefined;
  await parseXml(chunks, (p) => {
    p.on('opentag', (t) => {
      if (t.uri !== FILELISTS) return;
      if (t.local === 'package') pkgid = attr(t, 'pkgid')?.toLowerCase();
      else if (t.local === 'file' && pkgid) text = '';
    });
    p.on('text', (s) => { if (text !== undefined) text += s; });
    p.on('closetag', (t) => {
      if (t.uri !== FILELISTS) return;
      if (t.local === 'file' && text !== undefined) {
        const f = text.trim();
        if (wanted.has(f) && pkgid) out.set(f, [...(out.get(f) ?? []), pkgid]);
        text = undefined;
      } else if (t.local === 'package') pkgid = undefined;
    });
  }, what);
  return out;
}
