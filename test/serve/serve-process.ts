import { execa, type ResultPromise } from 'execa';
import { airgapBin } from '../harness/index.js';

export interface ServeProcess {
  /** `http(s)://127.0.0.1:PORT/` */
  url: string;
  pid: number;
  /** Access lines printed so far (stdout). */
  lines(): string[];
  /** Send a signal and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/**
 * The real `airgap serve` (bin/run.js) on 127.0.0.1 with a free port, as an operator starts it; resolves
 * once it prints the address it listens on (docs/serve.md).
 */
export async function startServe(mirror: string, extra: string[] = []): Promise<ServeProcess> {
  const proc: ResultPromise = execa(process.execPath, [airgapBin, 'serve', mirror, '--listen', '127.0.0.1:0', ...extra], {
    reject: false, stdin: 'ignore', env: { NO_COLOR: '1' }, buffer: true,
  });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const json = extra.includes('--json');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = json ? /"url":"([^"]+)"/.exec(out) : /listening on (\S+)/.exec(err);
      if (m) {
        clearInterval(timer);
        resolve(m[1]);
      } else if (proc.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`airgap serve exited ${proc.exitCode}: ${err}`));
      }
    }, 50);
  });
  return {
    url,
    pid: proc.pid!,
    lines: () => out.split('\n').filter(Boolean),
    async stop(signal = 'SIGTERM') {
      proc.kill(signal);
      const r = await proc;
      return { exitCode: r.exitCode ?? -1, stdout: out, stderr: err };
    },
  };
}
