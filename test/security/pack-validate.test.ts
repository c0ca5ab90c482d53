import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, tempDir } from '../harness/index.js';
import { signingKey } from './forge.js';

/**
 * docs/security.md "Index semantics" at the outside: `pack` runs each ecosystem's validate on what it is
 * about to sign. A manifest value that the manifest schema lets through but the inside would refuse at
 * verify — here a files `path` with a line break and an escape sequence — fails the pack with exit 2,
 * naming the field, and no bundle (signed or not) is left in --out.
 */
let root: string;
let keyFile: string;

beforeAll(async () => {
  root = await tempDir('airgap-sec-pack-validate-');
  const dir = join(root, 'keys');
  await signingKey(dir);
  keyFile = join(dir, 'outside.key');
  await writeFile(join(root, 'hello.txt'), 'hello\n');
});

async function pack(path: string, out: string) {
  const manifest = join(root, `${out}.yaml`);
  await writeFile(manifest, `apiVersion: airgap/v1\nkind: Bundle\nname: v\nfiles:\n  - url: ./hello.txt\n    path: ${JSON.stringify(path)}\n`);
  return runAirgap(['pack', manifest, '--out', join(root, out), '--key', keyFile, '--cache', join(root, 'cache')], { cwd: root, timeoutMs: 120_000 });
}

describe('pack validates what it signs', () => {
  it('a files path with a line break (past the schema) is exit 2 naming the field, and no bundle is written', async () => {
    const r = await pack('tools/evil\n\u001b[2Jname.txt', 'out-bad');
    // A files artifact's name is its path under files/; the value is quoted in the message, never echoed raw.
    const error = r.stderr.split('\n').find((l) => l.includes('not packed'));
    expect(error).toMatch(/bad\.yaml: file "tools\/evil\\n\\u001b\[2Jname\.txt": name .*holds a control character or line break: not packed, nothing signed/);
    expect(error).not.toContain('\u001b');
    expect(r.exitCode).toBe(2);
    expect(await readdir(join(root, 'out-bad')).catch(() => [])).toEqual([]);
  });

  it('the same entry with a safe path packs (the refusal is the value, not the entry)', async () => {
    const r = await pack('tools/name.txt', 'out-good');
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await readdir(join(root, 'out-good'))).length).toBe(1);
  });
});
