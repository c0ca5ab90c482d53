import { withTransfer } from '../harness/index.js';
/** Library-level pack and unpack for npm tests (the same steps the CLI pipelines take, without a bundle). */
import { readdir } from 'node:fs/promises';
import {
  type Artifact, type Logger, type PublishContext, type PublishHalf, type SourceContext, type TargetConfig,
  ContentStore, HttpClient, errorText, type RegistriesTargetConfig,
} from '@airgap/core';
import { registriesTargetEndpoints, targetAuth } from '@airgap/nexus';
import { npm, type NpmSpec } from '@airgap/npm';
import { execa } from 'execa';
import { npmEnv } from './verdaccio.js';

export interface CapturingLogger extends Logger {
  warnings: string[];
}

export function capturingLogger(): CapturingLogger {
  const warnings: string[] = [];
  return { warnings, info() {}, debug() {}, warn: (m) => void warnings.push(m) };
}

export function sourceContext(storeDir: string, log: Logger = capturingLogger(), extra: Partial<SourceContext> = {}): SourceContext {
  const http = new HttpClient({ retries: 1 });
  http.backoffMs = 10;
  return withTransfer({ store: new ContentStore(storeDir), http, config: {}, log, progress: () => {}, manifestDir: storeDir, concurrency: 4, dryRun: false, ...extra });
}

/** resolve + fetch, as `airgap pack` does for one manifest entry. */
export async function packLib(spec: NpmSpec, ctx: SourceContext): Promise<Artifact[]> {
  const artifacts = await npm.source.resolve(spec, ctx);
  for (const a of artifacts) await npm.source.fetch(a, ctx);
  return artifacts;
}

export type Outcome = { label: string; action: 'present' | 'pushed' | 'failed'; error?: string };

/** exists → present, else publish → pushed; failures recorded; finalize at the end (as `airgap unpack` does). */
export async function unpackLib(artifacts: Artifact[], half: PublishHalf, ctx: PublishContext): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const a of artifacts) {
    const label = `${a.name}@${a.version}`;
    try {
      if ((await half.exists(a, ctx)) === 'present') out.push({ label, action: 'present' });
      else {
        await half.publish(a, ctx);
        out.push({ label, action: 'pushed' });
      }
    } catch (e) {
      out.push({ label, action: 'failed', error: errorText(e) });
    }
  }
  await half.finalize?.(artifacts, ctx);
  return out;
}

export function registriesContext(storeDir: string, npmUrl: string, env: Record<string, string>): PublishContext {
  const config: TargetConfig = { type: 'registries', endpoints: { npm: npmUrl }, usernameEnv: 'T_USER', passwordEnv: 'T_PASS' };
  const store = new ContentStore(storeDir);
  return withTransfer({
    target: { type: 'registries', name: 'inside', config },
    blobs: { open: (d) => store.open(d.digest) },
    http: new HttpClient({ retries: 1 }),
    config: {},
    log: capturingLogger(),
    progress: () => {},
    bundle: { name: 'test', created: new Date().toISOString() },
    dryRun: false,
    services: { endpoints: registriesTargetEndpoints('inside', config as RegistriesTargetConfig, {}, targetAuth('inside', config as RegistriesTargetConfig, env)) },
  });
}

export function dirContext(storeDir: string, path: string, baseUrl?: string): PublishContext {
  const config: TargetConfig = { type: 'dir', path, ...(baseUrl ? { npm: { baseUrl } } : {}) };
  const store = new ContentStore(storeDir);
  return withTransfer({
    target: { type: 'dir', name: 'mirror', path, config },
    blobs: { open: (d) => store.open(d.digest) },
    http: new HttpClient({ retries: 1 }),
    config: {},
    log: capturingLogger(),
    progress: () => {},
    bundle: { name: 'test', created: new Date().toISOString() },
    dryRun: false,
    services: {},
  });
}

/** Every name@version in `npm ls --all --json` of an installed project. */
export async function npmLsSet(cwd: string): Promise<string[]> {
  const r = await execa('npm', ['ls', '--all', '--json'], { cwd, env: npmEnv(), extendEnv: false, reject: false });
  const tree = JSON.parse(String(r.stdout)) as { dependencies?: Record<string, LsNode> };
  const set = new Set<string>();
  const walk = (deps: Record<string, LsNode> | undefined) => {
    for (const [name, n] of Object.entries(deps ?? {})) {
      if (n.version) set.add(`${name}@${n.version}`);
      walk(n.dependencies);
    }
  };
  walk(tree.dependencies);
  return [...set].sort();
}
interface LsNode { version?: string; dependencies?: Record<string, LsNode> }

export function artifactSet(artifacts: Artifact[]): string[] {
  return [...new Set(artifacts.map((a) => `${a.name}@${a.version}`))].sort();
}

export async function listFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}
