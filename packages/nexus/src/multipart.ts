import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/** One field of a `multipart/form-data` upload: a text value, or a file streamed from its source. */
export type UploadPart =
  | { name: string; value: string }
  | { name: string; filename: string; contentType?: string; size: number; open: () => Readable };

export interface MultipartBody {
  contentType: string;
  /** Exact byte length, so the request carries Content-Length (some reverse proxies refuse chunked uploads). */
  length: number;
  /** A fresh stream of the whole body; called again for each retry. */
  open(): Readable;
}

// HTML's form encoding escapes these in a field name or file name (WHATWG multipart/form-data).
function quoted(s: string): string {
  return s.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}

/** A streaming `multipart/form-data` encoder: file parts are never held in memory. */
export function multipartBody(parts: UploadPart[]): MultipartBody {
  const boundary = `----airgap${randomBytes(12).toString('hex')}`;
  const heads = parts.map((p) => {
    const disposition = `form-data; name="${quoted(p.name)}"` + ('filename' in p ? `; filename="${quoted(p.filename)}"` : '');
    const type = 'filename' in p ? `\r\nContent-Type: ${p.contentType ?? 'application/octet-stream'}` : '';
    return Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}${type}\r\n\r\n`);
  });
  const values = parts.map((p) => ('value' in p ? Buffer.from(p.value) : undefined));
  const crlf = Buffer.from('\r\n');
  const end = Buffer.from(`--${boundary}--\r\n`);
  let length = end.length;
  parts.forEach((p, i) => {
    length += heads[i].length + ('value' in p ? values[i]!.length : p.size) + crlf.length;
  });
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length,
    open() {
      return Readable.from((async function* () {
        for (let i = 0; i < parts.length; i++) {
          const p = parts[i];
          yield heads[i];
          if ('value' in p) yield values[i]!;
          else for await (const chunk of p.open()) yield chunk as Buffer;
          yield crlf;
        }
        yield end;
      })(), { objectMode: false });
    },
  };
}
