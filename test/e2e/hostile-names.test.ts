/**
 * A name from a manifest or an upstream is printed with its control characters escaped (docs/security.md):
 * the pack progress line for a file whose path holds terminal escape sequences shows `\u001b[2J`, never
 * the ESC byte that would clear the operator's screen. Through the real CLI (bin/run.js), in cron mode.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, startStaticServer, tempDir, type StaticServer } from '../harness/index.js';

let work: string;
let upstream: StaticServer;

beforeAll(async () => {
  work = await tempDir('airgap-hostile-names-');
  await mkdir(join(work, 'keys'));
  const k = await runAirgap(['keygen', '--out-dir', join(work, 'keys'), '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  await mkdir(join(work, 'site'));
  await writeFile(join(work, 'site', 'a.bin'), randomBytes(512));
  upstream = await startStaticServer(join(work, 'site'));
});

afterAll(async () => {
  await upstream?.close();
});

describe('hostile names on progress lines', () => {
  it('pack shows a file path holding ESC sequences and a CR escaped, and refuses it (exit 2)', async () => {
    // YAML double quotes: \e is ESC, \r is CR. The CR would return the cursor and overwrite the line.
    // A URL source: pack downloads it before the checks that come before signing (a URL's size is known
    // only once fetched, docs/transfers.md "Writing while downloading"), so its progress line is printed.
    await writeFile(join(work, 'm.yaml'), `apiVersion: airgap/v1\nkind: Bundle\nname: hostile\nfiles:\n  - { url: "${upstream.url}a.bin", path: "t/\\e[2J\\e[31mred\\rok.bin" }\n`);
    const r = await runAirgap(['pack', join(work, 'm.yaml'), '--out', join(work, 'out'), '--key', join(work, 'keys', 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toContain('\u001b');
    expect(r.stderr).not.toContain('\r');
    // The progress line of the download, then the refusal, both escaped.
    expect(r.stderr).toMatch(/Z done {4}file t\/\\u001b\[2J\\u001b\[31mred\\u000dok\.bin\n/);
    expect(r.stderr).toContain('holds a control character or line break: not packed, nothing signed');
  });
});
