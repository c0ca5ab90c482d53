import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { multipartBody } from './multipart.js';

describe('multipartBody', () => {
  it('encodes text and streamed file parts that a multipart parser reads back, with an exact length', async () => {
    const bytes = randomBytes(100_000);
    let opened = 0;
    const body = multipartBody([
      { name: 'raw.directory', value: 'tools/' },
      { name: 'raw.asset1', filename: 'a "b"\r\n.tgz', size: bytes.length, open: () => { opened++; return Readable.from([bytes.subarray(0, 5), bytes.subarray(5)]); } },
    ]);
    const encoded = await buffer(body.open());
    expect(encoded.length).toBe(body.length);
    const form = await new Response(encoded, { headers: { 'content-type': body.contentType } }).formData();
    expect(form.get('raw.directory')).toBe('tools/');
    const file = form.get('raw.asset1') as File;
    // escaped on the wire (WHATWG form encoding), decoded again by the parser
    expect(encoded.toString('latin1')).toContain('filename="a %22b%22%0D%0A.tgz"');
    expect(file.name).toBe('a "b"\r\n.tgz');
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);
    // every open() is a fresh stream, so a retried request re-reads the file
    await buffer(body.open());
    expect(opened).toBe(2);
  });
});
