/**
 * Fixtures that a slow real tool builds (pip wheel, npm pack), built once per checkout instead of once per
 * test file: kept under node_modules/.cache/airgap-fixtures/<name>-<key> (so `npm ci` starts it empty and a
 * clean clone builds each one once, with the real tool), where <key> is the sha256 of everything the build
 * reads — its inputs, the builder's own source text and the tool versions. A changed input is a new key,
 * never a stale copy.
 *
 * Each caller gets its own copy of the files in a folder of its own: a test that tampers with a fixture
 * changes its copy only, so no test sees another's changes whatever the order. Two workers building the
 * same key at once each build into a temporary folder; the first rename wins and the other's copy is
 * dropped. AIRGAP_TEST_FIXTURE_CACHE=0 builds every fixture afresh (to compare, or to rule the cache out).
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.cache', 'airgap-fixtures');

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/**
 * Make `dest` hold what `build(dir)` writes into an empty `dir` (merged into what `dest` already holds),
 * taken from the cache when the same key was built before; returns the names `build` wrote at the top of
 * `dir`. `key` is anything JSON-serialisable that names every input of the build.
 */
export async function cachedBuild(name: string, key: unknown, dest: string, build: (dir: string) => Promise<void>): Promise<string[]> {
  const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 32);
  const off = process.env.AIRGAP_TEST_FIXTURE_CACHE === '0';
  const done = join(ROOT, `${name}-${hash}`);
  const tmp = join(ROOT, `.tmp-${name}-${hash}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    if (off || !(await exists(done))) {
      await mkdir(tmp, { recursive: true });
      await build(tmp);
      // rename is atomic: `done` is either absent or complete. Another worker may have won meanwhile.
      if (!off) {
        await rename(tmp, done).catch(async (e: NodeJS.ErrnoException) => {
          if (!(await exists(done))) throw e;
        });
      }
    }
    const from = off ? tmp : done;
    await mkdir(dest, { recursive: true });
    await cp(from, dest, { recursive: true });
    return (await readdir(from)).sort();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
