import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];

// Registered once, when a test file imports the harness (collection time). An afterAll registered later,
// from inside a beforeAll or a test (where most files call tempDir), is silently never run by vitest:
// that is how `npm test` left hundreds of MB of airgap-* folders behind.
afterAll(async () => {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temporary folder, removed after the test file finishes (wherever tempDir is called from). */
export async function tempDir(prefix = 'airgap-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Write `text` to `rel` under `dir`, making its folders; returns the file's path. */
export async function writeUnder(dir: string, rel: string, text: string): Promise<string> {
  const file = join(dir, rel);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  return file;
}
