import { describe, expect, it } from 'vitest';
import { htmlEscape, htmlUnescape, parseHtmlPage } from './simple-index.js';

describe('PEP 503 project pages', () => {
  it('reads hashes, escaped requires-python, yanked and core-metadata (current and legacy spelling)', () => {
    const html = `<!DOCTYPE html><html><body>
      <a href="https://files.example.invalid/p/a-1.0-py3-none-any.whl#sha256=ABCDEF0123" data-requires-python="&gt;=3.8,&lt;4" data-core-metadata="sha256=00ff">a-1.0-py3-none-any.whl</a><br/>
      <a href='../../f/a-0.9.tar.gz#md5=1234' data-yanked="">a-0.9.tar.gz</a>
      <A HREF="a-0.8-py3-none-any.whl" data-dist-info-metadata="true">a-0.8-py3-none-any.whl</A>
    </body></html>`;
    const files = parseHtmlPage(html, 'http://127.0.0.1:1/simple/a/');
    expect(files).toEqual([
      { filename: 'a-1.0-py3-none-any.whl', url: 'https://files.example.invalid/p/a-1.0-py3-none-any.whl', hashes: { sha256: 'abcdef0123' }, requiresPython: '>=3.8,<4', yanked: false, coreMetadata: { sha256: '00ff' } },
      { filename: 'a-0.9.tar.gz', url: 'http://127.0.0.1:1/f/a-0.9.tar.gz', hashes: { md5: '1234' }, requiresPython: undefined, yanked: true, coreMetadata: false },
      { filename: 'a-0.8-py3-none-any.whl', url: 'http://127.0.0.1:1/simple/a/a-0.8-py3-none-any.whl', hashes: {}, requiresPython: undefined, yanked: false, coreMetadata: true },
    ]);
  });

  it('honours <base href>', () => {
    const files = parseHtmlPage('<base href="http://cdn.invalid/x/"><a href="b-1.0.tar.gz">b-1.0.tar.gz</a>', 'http://127.0.0.1:1/simple/b/');
    expect(files[0].url).toBe('http://cdn.invalid/x/b-1.0.tar.gz');
  });

  it('escapes and unescapes HTML', () => {
    expect(htmlEscape('>=3.8,<4 & "x"')).toBe('&gt;=3.8,&lt;4 &amp; &quot;x&quot;');
    expect(htmlUnescape('&gt;=3&#46;8&#x2C;&lt;4&amp;')).toBe('>=3.8,<4&');
  });
});
