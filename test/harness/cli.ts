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

/**
 * A signed bundle of local files, packed through the CLI: a fresh key pair `<work>/keys/<name>.{key,pub}`,
 * the files written under `work`, a manifest `m-<bundle>.yaml` listing each under `path`, and
 * `airgap pack` with `extra` flags. Throws (failing the test's setup) when keygen or pack does not exit 0.
 */
export async function packLocalFiles(
  work: string,
  files: Record<string, Buffer | string>,
  opts: { bundle?: string; path?: string; keyName?: string; extra?: string[] } = {},
): Promise<{ bundle: string; key: string; pub: string }> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const name = opts.keyName ?? 't';
  const keys = join(work, 'keys');
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', name], { cwd: work });
  if (k.exitCode !== 0) throw new Error(`keygen exited ${k.exitCode}: ${k.stderr}`);
  const entries: string[] = [];
  for (const [file, data] of Object.entries(files)) {
    await mkdir(dirname(join(work, file)), { recursive: true });
    await writeFile(join(work, file), data);
    entries.push(`  - url: ./${file}\n    path: ${opts.path ?? 't/'}\n`);
  }
  const bundleName = opts.bundle ?? 'local';
  const manifest = join(work, `m-${bundleName}.yaml`);
  await writeFile(manifest, `apiVersion: airgap/v1\nkind: Bundle\nname: ${bundleName}\nfiles:\n${entries.join('')}`);
  const key = join(keys, `${name}.key`);
  const r = await runAirgapJson<{ bundle: string }>(['pack', manifest, '--out', join(work, `out-${bundleName}`), '--key', key, '--cache', join(work, 'cache'), ...(opts.extra ?? [])], { cwd: work });
  if (r.exitCode !== 0) throw new Error(`pack exited ${r.exitCode}: ${r.stderr}`);
  return { bundle: r.json.bundle, key, pub: join(keys, `${name}.pub`) };
}
