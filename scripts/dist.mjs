#!/usr/bin/env node
// `npm run dist`: the self-contained release that carries airgap inside (docs/release.md).
//
// Route: Node's single-executable-application support (SEA). Why this one: it is Node's own, documented
// feature; the result is the very node binary this build runs on with one resource added, so it needs
// nothing on the inside (no Node, no npm, no network) and no third party's prebuilt runtime is
// downloaded (pkg/nexe/bun-compile each fetch a runtime of their own, which this build cannot and an
// auditor should not have to trust). Node 20's SEA runs one CommonJS script with only built-in
// modules, so:
//   1. esbuild bundles dist/src (ESM, with the ecosystems' dynamic `import()`s, which esbuild inlines as
//      lazy requires) and every dependency into one CommonJS file. oclif normally finds its commands by
//      importing files from disk; the entry below hands it the command classes instead (oclif's
//      `explicit` discovery, with the command table already loaded).
//   2. `node --experimental-sea-config` turns that file into a blob; postject (the tool Node's docs
//      name) injects the blob into a copy of the node binary.
//   3. SHA256SUMS and a minisign signature (airgap's own signer; `minisign -V` accepts it) are written
//      beside it. The key comes from --key FILE or AIRGAP_RELEASE_KEY (an encrypted key, from
//      `keygen --encrypt` or `minisign -G`, takes its passphrase from a terminal prompt or
//      AIRGAP_KEY_PASSWORD_FILE); without one the release is left unsigned and the script says so.
//
// Output: dist-release/airgap-<version>-linux-x64, .minisig, SHA256SUMS.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const pjson = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
const manifestFile = path.join(root, 'oclif.manifest.json');
const manifest = JSON.parse(await readFile(manifestFile, 'utf8').catch(() => {
  console.error('dist: oclif.manifest.json is missing: run `npm run build` first');
  process.exit(1);
}));
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`dist: this build makes the linux-x64 release; this machine is ${process.platform}-${process.arch}`);
  process.exit(1);
}
const outDir = path.resolve(arg('--out') ?? path.join(root, 'dist-release'));
const keyFile = arg('--key') ?? process.env.AIRGAP_RELEASE_KEY;
const exeName = `airgap-${pjson.version}-linux-x64`;

// The release key is read (and, if encrypted, its passphrase asked for or read from
// AIRGAP_KEY_PASSWORD_FILE, as pack does: docs/security.md) before the slow build, so a wrong
// passphrase costs seconds, not minutes. A key or passphrase problem is exit 2, as in airgap itself.
const bundleLib = () => import(pathToFileURL(path.join(root, 'packages/bundle/dist/index.js')).href);
let releaseKey;
if (keyFile) {
  const { readSecretKey } = await bundleLib();
  const { passphraseSource } = await import(pathToFileURL(path.join(root, 'dist/src/passphrase.js')).href);
  try {
    releaseKey = await readSecretKey(path.resolve(keyFile), { passphrase: passphraseSource() });
  } catch (e) {
    if (!e?.exitCode) throw e;
    console.error(`dist: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
    process.exit(e.exitCode);
  }
}

const work = await mkdtemp(path.join(tmpdir(), 'airgap-dist-'));
try {
  // 1. One CommonJS file. The entry imports every command the oclif manifest lists (so a command added
  // later is in the release without touching this script) and gives oclif the table directly.
  const imports = [];
  const table = [];
  for (const [i, [id, c]] of Object.entries(manifest.commands).entries()) {
    imports.push(`import C${i} from ${JSON.stringify(path.join(root, ...c.relativePath))};`);
    table.push(`  ${JSON.stringify(id)}: C${i},`);
  }
  const seaPjson = {
    name: pjson.name,
    version: pjson.version,
    description: pjson.description,
    // Hooks are files oclif imports from disk, which a single executable has not: left out (docs/release.md).
    oclif: { ...pjson.oclif, hooks: undefined, commands: { strategy: 'explicit', target: './sea', identifier: 'COMMANDS' } },
  };
  const entry = `${imports.join('\n')}
import { Config, Plugin, flush, handle, run } from '@oclif/core';
import { dirname } from 'node:path';
const COMMANDS = {
${table.join('\n')}
};
const pjson = ${JSON.stringify(seaPjson)};
async function main() {
  const root = dirname(process.execPath);
  // oclif would import ./sea from disk; the commands are already here (bundled).
  const plugin = new Plugin({ root, pjson, isRoot: true, ignoreManifest: true });
  plugin.commandCache = COMMANDS;
  await plugin.load();
  const config = await Config.load({ root, pjson, plugins: new Map([[pjson.name, plugin]]) });
  await run(process.argv.slice(2), config);
  await flush();
}
main().catch(handle);
`;
  const bundleFile = path.join(work, 'airgap.cjs');
  const esbuild = await import('esbuild');
  await esbuild.build({
    stdin: { contents: entry, resolveDir: root, sourcefile: 'sea-entry.mjs', loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: bundleFile,
    // No minify and no keepNames: the bundle verifier and part writer ship functions to worker threads
    // as source text (packages/bundle/src/verify.ts), which must stay self-contained.
    minify: false,
    legalComments: 'inline',
    // The version src/version.ts reads from package.json when run from the source tree.
    define: { __AIRGAP_VERSION__: JSON.stringify(pjson.version) },
    // cosmiconfig loads airgap.config.ts through `typescript` only when such a file exists; the release
    // reads YAML/JSON/JS configs (docs/release.md). The CycloneDX library probes for its optional XML
    // plugins in try/catch; airgap writes only the JSON SBOM, so they stay out of the bundle.
    external: ['typescript', 'libxmljs2', 'xmlbuilder2'],
    // Node's SEA hands the script a require() that loads built-ins only, and warns when a bundled
    // library probes for an optional module (fdir probes picomatch, oclif its own package.json, both
    // in try/catch). The disk-backed require Node recommends for this answers "not found" quietly.
    banner: { js: 'var require = require("node:module").createRequire(process.execPath);' },
    logLevel: 'warning',
  });

  // 2. The SEA blob, injected into a copy of this node binary.
  const blob = path.join(work, 'sea-prep.blob');
  const seaConfig = path.join(work, 'sea-config.json');
  await writeFile(seaConfig, JSON.stringify({ main: bundleFile, output: blob, disableExperimentalSEAWarning: true }));
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!(await readFile(process.execPath)).includes(SEA_FUSE)) {
    console.error(`dist: ${process.execPath} has no SEA fuse (a node built without single-executable support); use an official Node 20 build`);
    process.exit(1);
  }
  await mkdir(outDir, { recursive: true });
  const exe = path.join(outDir, exeName);
  await rm(exe, { force: true });
  await rm(`${exe}.minisig`, { force: true });
  await copyFile(process.execPath, exe);
  await chmod(exe, 0o755);
  const { inject } = await import('postject');
  await inject(exe, 'NODE_SEA_BLOB', await readFile(blob), { sentinelFuse: SEA_FUSE });

  // 3. SHA256SUMS and the signature.
  const bytes = await readFile(exe);
  const files = [exeName];
  if (releaseKey) {
    const { signMinisign } = await bundleLib();
    const sha = createHash('sha256').update(bytes).digest('hex');
    await writeFile(`${exe}.minisig`, signMinisign(bytes, releaseKey, `file:${exeName} sha256:${sha}`));
    files.push(`${exeName}.minisig`);
  } else {
    console.warn('dist: no --key FILE and no AIRGAP_RELEASE_KEY: the release is NOT signed (SHA256SUMS only)');
  }
  const sums = [];
  for (const f of files) sums.push(`${createHash('sha256').update(await readFile(path.join(outDir, f))).digest('hex')}  ${f}\n`);
  await writeFile(path.join(outDir, 'SHA256SUMS'), sums.join(''));
  console.log(exe);
} finally {
  // AIRGAP_DIST_KEEP=1 keeps the bundled script and blob (to debug the build).
  if (!process.env.AIRGAP_DIST_KEEP) await rm(work, { recursive: true, force: true });
}
