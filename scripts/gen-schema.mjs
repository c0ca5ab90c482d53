#!/usr/bin/env node
// Writes manifests/airgap-manifest.schema.json and manifests/airgap-config.schema.json: the schemas core
// composes over the ecosystems this build registers (src/ecosystems.ts, built to dist/src/ecosystems.js).
// `--check` only compares, and exits 1 when a committed file is stale (for CI).
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const registryModule = path.join(root, 'dist/src/ecosystems.js');
const check = process.argv.includes('--check');

if (!existsSync(registryModule)) {
  console.error(`gen-schema: ${path.relative(root, registryModule)} is missing: run \`npm run build\` first (src/ecosystems.ts must export \`ecosystems\`)`);
  process.exit(1);
}
const { ecosystems } = await import(pathToFileURL(registryModule).href);
if (!ecosystems || typeof ecosystems.all !== 'function') {
  console.error(`gen-schema: ${path.relative(root, registryModule)} does not export an EcosystemRegistry named \`ecosystems\``);
  process.exit(1);
}
const { publishedSchemas } = await import('@airgap/core');
await ecosystems.load('all');

let stale = 0;
for (const [name, text] of Object.entries(publishedSchemas(ecosystems))) {
  const file = path.join(root, 'manifests', name);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === text) continue;
  if (check) {
    console.error(`gen-schema: manifests/${name} is stale: run \`node scripts/gen-schema.mjs\``);
    stale++;
    continue;
  }
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
  console.log(`wrote manifests/${name}`);
}
process.exit(stale ? 1 : 0);
