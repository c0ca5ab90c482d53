#!/usr/bin/env node
// Runs the airgap CLI in this process and prints its peak RSS (high-water mark) on exit:
//   node test/bench/with-maxrss.mjs <args for airgap…>
// The figure is the process's own `maxRSS` from getrusage, so no external tool is needed.
import { execute } from '@oclif/core';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

process.on('exit', () => {
  process.stderr.write(`maxrss-kib ${process.resourceUsage().maxRSS}\n`);
});
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
await execute({ dir: pathToFileURL(join(root, 'bin', 'run.js')).href, args: process.argv.slice(2) });
