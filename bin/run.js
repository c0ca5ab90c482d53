#!/usr/bin/env node
// `airgap --version` answers before oclif (and any command) is loaded: a start-up of node alone
// (test/bench/startup.mjs). It prints exactly what oclif would: name/version platform-arch node-version.
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const arch = process.arch === 'ia32' ? 'x86' : process.arch;
  process.stdout.write(`${pkg.name}/${pkg.version} ${process.platform}-${arch} node-${process.version}\n`);
} else {
  // `airgap verify|unpack DIR`: the parts start hashing on worker threads now, while oclif and the
  // command load (a third of a second); verify uses those digests only for the parts and sizes the
  // signed bundle.json lists, of files unchanged since (packages/bundle/src/part-hash.ts, docs/security.md).
  // Only when an argument names such a folder, so `verify --help` loads no hashing code (~20 ms).
  if (process.argv[2] === 'verify' || process.argv[2] === 'unpack') {
    const { existsSync } = await import('node:fs');
    const args = process.argv.slice(3);
    if (args.some((a) => !a.startsWith('-') && existsSync(`${a}/bundle.json`))) {
      const { hashEarly } = await import('@airgap/bundle/part-hash');
      hashEarly(args);
    }
  }
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
