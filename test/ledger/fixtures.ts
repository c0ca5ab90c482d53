import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { expect } from 'vitest';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';

/** A work folder with a key pair, local files and helpers to write manifests, pack and unpack through the CLI. */
export interface Fixture {
  work: string;
  keys: string;
  cache: string;
  /** Write `count` random files of `size` bytes under work/<dir>/ and return their names. */
  files(dir: string, count: number, size?: number): Promise<string[]>;
  manifest(file: string, name: string, entries: { url: string; path?: string }[]): Promise<string>;
  pack(manifest: string, out: string, extra?: string[]): Promise<{ bundle: string } & Record<string, any>>;
  unpackArgs(bundle: string, to: string, ledger: string, extra?: string[]): string[];
}

export async function fixture(): Promise<Fixture> {
  const work = await tempDir('airgap-ledger-e2e-');
  const keys = join(work, 'keys');
  await mkdir(keys, { recursive: true });
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  const cache = join(work, 'cache');
  return {
    work,
    keys,
    cache,
    async files(dir, count, size = 2048) {
      await mkdir(join(work, dir), { recursive: true });
      const names: string[] = [];
      for (let i = 0; i < count; i++) {
        const name = `${dir}/${String(i).padStart(4, '0')}.bin`;
        await writeFile(join(work, name), randomBytes(size));
        names.push(name);
      }
      return names;
    },
    async manifest(file, name, entries) {
      const body = ['apiVersion: airgap/v1', 'kind: Bundle', `name: ${name}`, 'files:', ...entries.map((e) => `  - { url: ./${e.url}${e.path ? `, path: ${e.path}` : ''} }`)].join('\n') + '\n';
      const p = join(work, file);
      await writeFile(p, body);
      return p;
    },
    async pack(manifest, out, extra = []) {
      const r = await runAirgapJson(['pack', manifest, '--out', join(work, out), '--key', join(keys, 'outside.key'), '--cache', cache, ...extra], { cwd: work });
      expect(r.exitCode, r.stderr).toBe(0);
      return r.json;
    },
    unpackArgs(bundle, to, ledger, extra = []) {
      return ['unpack', bundle, '--to', to, '--pub', join(keys, 'outside.pub'), '--ledger', ledger, ...extra];
    },
  };
}

export async function ledgerLines(path: string): Promise<any[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.length > 0).flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}

/** Digests of the blobs inside a bundle, listed by GNU tar from its concatenated parts. */
export async function bundleBlobs(bundle: string): Promise<string[]> {
  const parts = (await readdir(bundle)).filter((f) => f.startsWith('part-')).sort().map((f) => join(bundle, f));
  const r = await execa('sh', ['-c', 'cat "$@" | tar -tf -', 'sh', ...parts]);
  return String(r.stdout).split('\n').filter((n) => /^blobs\/sha256\/[a-f0-9]{64}$/.test(n)).map((n) => 'sha256:' + n.slice('blobs/sha256/'.length));
}

/** Resolve once `check()` is true, polling fast; stop the process at that moment (SIGSTOP). */
export async function stopWhen(child: ResultPromise, check: () => Promise<boolean>, watchDir?: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let busy = false;
    let done = false;
    const finish = (e?: Error) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      watcher?.close();
      if (e) reject(e);
      else resolve();
    };
    const poll = async () => {
      if (busy || done) return;
      busy = true;
      try {
        if (await check()) {
          child.kill('SIGSTOP');
          finish();
        }
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(poll, 2);
    // The watcher only makes the check react sooner; the 2 ms poll is what the test relies on, so a
    // machine out of inotify instances (EMFILE) just goes without it.
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watchDir ? watch(watchDir, () => void poll()) : undefined;
    } catch {
      watcher = undefined;
    }
    child.then((r) => finish(new Error(`the process ended (exit ${r.exitCode}) before the test could stop it mid-way:\n${r.stderr}`)));
  });
}
