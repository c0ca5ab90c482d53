// Preloaded (--import) into a benchmarked CLI run: prints the process's peak RSS on exit, on stderr.
process.on('exit', () => {
  process.stderr.write(`\nairgap-bench-maxrss-kib=${process.resourceUsage().maxRSS}\n`);
});
