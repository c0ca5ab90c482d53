import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { field, parseStanzas } from './control.js';

/** One `deb` source of the host's apt configuration, split per suite. */
export interface HostSource {
  uri: string;
  suite: string;
  components: string[];
  /** `Architectures:` / `[arch=...]`, when the source restricts them. */
  architectures?: string[];
  /** `Signed-By`: keyring file paths, or an inline ASCII-armored key block (deb822 only). */
  signedBy?: { files: string[] } | { armored: string };
  /** Where it was read from (`/etc/apt/sources.list.d/debian.sources`), for messages. */
  file: string;
}

/**
 * The host's apt sources as apt reads them (sources.list(5)): `<root>/etc/apt/sources.list`, then
 * `<root>/etc/apt/sources.list.d/*.list` (one-line style) and `*.sources` (deb822 style) in name order.
 * Files with other extensions are ignored (apt does the same, e.g. `.disabled`, `.save`). Only `deb`
 * types are kept; `Enabled: no` entries are skipped. `root` lets tests point it at a fixture tree.
 */
export async function readHostSources(root = '/'): Promise<HostSource[]> {
  const etc = join(root, 'etc', 'apt');
  const files: string[] = [join(etc, 'sources.list')];
  try {
    const names = (await readdir(join(etc, 'sources.list.d'))).filter((n) => /\.(list|sources)$/.test(n)).sort();
    files.push(...names.map((n) => join(etc, 'sources.list.d', n)));
  } catch {
    /* no sources.list.d: fine */
  }
  const out: HostSource[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch {
      continue;
    }
    out.push(...(f.endsWith('.sources') ? parseDeb822Sources(text, f) : parseOneLineSources(text, f)));
  }
  return out;
}

const words = (s: string | undefined) => (s ?? '').split(/\s+/).filter(Boolean);

/** deb822-style `.sources` (sources.list(5) "DEB822-docs/design.md FORMAT"). */
export function parseDeb822Sources(text: string, file: string): HostSource[] {
  const out: HostSource[] = [];
  for (const s of parseStanzas(text, { comments: true })) {
    if (!words(field(s, 'Types')).includes('deb')) continue;
    if (/^(no|false|0)$/i.test(field(s, 'Enabled') ?? '')) continue;
    const arch = words(field(s, 'Architectures'));
    const signed = field(s, 'Signed-By');
    let signedBy: HostSource['signedBy'];
    if (signed !== undefined) {
      // A multi-line value is an embedded key; continuation lines carry it, a lone "." is an empty line.
      if (signed.includes('BEGIN PGP PUBLIC KEY BLOCK')) {
        const armored = signed
          .split('\n')
          .map((l) => l.replace(/^[ \t]/, ''))
          .map((l) => (l.trim() === '.' ? '' : l))
          .join('\n')
          .trim();
        signedBy = { armored: armored + '\n' };
      } else {
        signedBy = { files: signed.split(/[\s,]+/).filter(Boolean) };
      }
    }
    for (const uri of words(field(s, 'URIs'))) {
      for (const suite of words(field(s, 'Suites'))) {
        out.push({ uri, suite, components: words(field(s, 'Components')), architectures: arch.length ? arch : undefined, signedBy, file });
      }
    }
  }
  return out;
}

/** One-line style: `deb [opt=val ...] uri suite [component...]`. */
export function parseOneLineSources(text: string, file: string): HostSource[] {
  const out: HostSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const m = /^(\S+)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m || m[1] !== 'deb') continue;
    const opts = new Map<string, string>();
    for (const o of words(m[2])) {
      const eq = o.indexOf('=');
      if (eq > 0) opts.set(o.slice(0, eq).toLowerCase(), o.slice(eq + 1));
    }
    const arch = opts.get('arch')?.split(',').filter(Boolean);
    const signed = opts.get('signed-by');
    out.push({
      uri: m[3],
      suite: m[4],
      components: words(m[5]),
      architectures: arch?.length ? arch : undefined,
      signedBy: signed ? { files: signed.split(',').filter(Boolean) } : undefined,
      file,
    });
  }
  return out;
}
