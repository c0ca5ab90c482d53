import { IntegrityError } from '@airgap/core';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/**
 * One deb822 paragraph (Packages stanza, Release file, `.sources` entry): fields in their original
 * order and spelling. Multi-line values keep their continuation lines verbatim (leading space
 * included) so a stanza can be written back byte-for-byte (Debian Policy §5.1).
 */
export type Stanza = Map<string, string>;

/** Field lookup ignoring case, as Policy §5.1 says field names are case-insensitive. */
export function field(s: Stanza, name: string): string | undefined {
  const direct = s.get(name);
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const [k, v] of s) if (k.toLowerCase() === lower) return v;
  return undefined;
}

class StanzaBuilder {
  current: Stanza = new Map();
  lastKey: string | undefined;

  /** Feed one line; returns a finished stanza at a paragraph break. */
  line(raw: string, allowComments: boolean): Stanza | undefined {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (allowComments && line.startsWith('#')) return undefined;
    if (line.trim() === '') return this.flush();
    if ((line.startsWith(' ') || line.startsWith('\t')) && this.lastKey !== undefined) {
      this.current.set(this.lastKey, this.current.get(this.lastKey) + '\n' + line);
      return undefined;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined; // not a field: ignored, as apt's tag file parser does
    const key = line.slice(0, colon).trim();
    this.current.set(key, line.slice(colon + 1).trim());
    this.lastKey = key;
    return undefined;
  }

  flush(): Stanza | undefined {
    this.lastKey = undefined;
    if (this.current.size === 0) return undefined;
    const done = this.current;
    this.current = new Map();
    return done;
  }
}

/** Parse deb822 text (comments allowed, as in `.sources` files). */
export function parseStanzas(text: string, opts: { comments?: boolean } = {}): Stanza[] {
  const b = new StanzaBuilder();
  const out: Stanza[] = [];
  for (const line of text.split('\n')) {
    const s = b.line(line, opts.comments ?? false);
    if (s) out.push(s);
  }
  const last = b.flush();
  if (last) out.push(last);
  return out;
}

/** Parse a Packages index as it streams, one stanza at a time (indexes are tens of MB). */
export async function* streamStanzas(input: Readable): AsyncGenerator<Stanza> {
  const b = new StanzaBuilder();
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) {
    const s = b.line(line, false);
    if (s) yield s;
  }
  const last = b.flush();
  if (last) yield last;
}

/** A control field name (Policy §5.1): printable US-ASCII except space and colon, not starting with `#` or `-`. */
const FIELD_NAME = /^[!"$-,.-9;-~][!-9;-~]*$/;
// eslint-disable-next-line no-control-regex
const BAD_IN_VALUE = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/**
 * Write a stanza back: `Key: value` with continuation lines as they were. The only serializer of the
 * generated Packages and Release files (docs/security.md): a field name that is not one, a control
 * character, or a line break not followed by a continuation line (which would inject fields or a new
 * stanza) is refused, never written.
 */
export function formatStanza(s: Stanza | Iterable<[string, string]>): string {
  let out = '';
  for (const [k, v] of s) {
    if (!FIELD_NAME.test(k)) throw new IntegrityError(`refusing to write the control field name ${JSON.stringify(k.slice(0, 80))}`, { subject: k.slice(0, 80) });
    if (BAD_IN_VALUE.test(v) || v.split('\n').slice(1).some((l) => !/^[ \t]/.test(l) || l.trim() === '')) {
      throw new IntegrityError(`refusing to write control field ${k}: its value has a control character or a line that is not a continuation line`, { subject: k });
    }
    out += v.startsWith('\n') ? `${k}:${v}\n` : `${k}: ${v}\n`;
  }
  return out;
}
