import { execa } from 'execa';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const airgapBin = join(repoRoot, 'bin', 'run.js');

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (`bin/run.js`, as an operator would) and returns its exit code and output.
 * Never throws on a non-zero exit: tests assert the code.
 */
export async function runAirgap(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await execa(process.execPath, [airgapBin, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { NO_COLOR: '1', ...opts.env },
    reject: false,
    stdin: 'ignore',
    timeout: opts.timeoutMs ?? 300_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Runs the CLI with `--json` and parses stdout. */
export async function runAirgapJson<T = any>(args: string[], opts: Parameters<typeof runAirgap>[1] = {}): Promise<RunResult & { json: T }> {
  const r = await runAirgap([...args, '--json'], opts);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`airgap ${args.join(' ')} --json did not print JSON (exit ${r.exitCode}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return { ...r, json };
}
