import { copyFile, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type AirgapConfig, type EndpointResolver, type TargetConfig, UsageError, writeFileAtomic } from '@airgap/core';
import { nexusEndpoints, registriesTargetEndpoints, withSlash } from '@airgap/nexus';
import { parseImageRef } from '@airgap/oci';
import { type ClientFile, type ClientPlan, renderClientFiles } from './render.js';

const KEYRING_INSTALL = '/usr/share/keyrings/airgap-archive-keyring.gpg';

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function list(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
}

/** Upstream registry hosts of the images in an OCI layout's index.json (their `ref.name`s). */
async function layoutHosts(mirror: string): Promise<string[]> {
  const text = await readFile(join(mirror, 'oci', 'index.json'), 'utf8').catch(() => undefined);
  if (!text) return [];
  const doc = JSON.parse(text) as { manifests?: { annotations?: Record<string, string> }[] };
  return hostsOf((doc.manifests ?? []).map((m) => m.annotations?.['org.opencontainers.image.ref.name']));
}

function hostsOf(names: (string | undefined)[]): string[] {
  const hosts = new Set<string>();
  for (const n of names) {
    if (!n) continue;
    try {
      hosts.add(parseImageRef(n).registry);
    } catch {
      // not an image reference: nothing to configure for it
    }
  }
  return [...hosts].sort();
}

/** What a `dir:` mirror holds, as served by `airgap serve` at `server` (docs/serve.md). */
export async function planFromMirror(mirror: string, server: string, caFile?: string): Promise<ClientPlan> {
  const root = server.replace(/\/+$/, '');
  const plan: ClientPlan = { caFile };
  const hosts = await layoutHosts(mirror);
  if (hosts.length) plan.registry = { root, hosts, names: 'ns' };
  const suites: { suite: string; components: string[] }[] = [];
  let signed = false;
  for (const suite of await list(join(mirror, 'apt', 'dists'))) {
    const release = await readFile(join(mirror, 'apt', 'dists', suite, 'Release'), 'utf8').catch(() => undefined);
    if (!release) continue;
    const components = /^Components:[ \t]*(.+)$/m.exec(release)?.[1].trim().split(/\s+/) ?? ['main'];
    suites.push({ suite, components });
    if (await isFile(join(mirror, 'apt', 'dists', suite, 'InRelease'))) signed = true;
  }
  const keyring = join(mirror, 'apt', 'airgap-archive-keyring.gpg');
  if (suites.length) plan.apt = { url: `${root}/apt`, suites, ...(signed && (await isFile(keyring)) ? { keyring: { installPath: KEYRING_INSTALL, file: keyring } } : {}) };
  const yum: NonNullable<ClientPlan['yum']> = [];
  for (const name of await list(join(mirror, 'yum'))) {
    const repodata = join(mirror, 'yum', name, 'repodata');
    if (!(await isFile(join(repodata, 'repomd.xml')))) continue;
    const base = `${root}/yum/${encodeURIComponent(name)}/`;
    const signedRepo = (await isFile(join(repodata, 'repomd.xml.asc'))) && (await isFile(join(repodata, 'repomd.xml.key')));
    yum.push({ name, baseurl: base, ...(signedRepo ? { gpgkey: `${base}repodata/repomd.xml.key` } : {}) });
  }
  if (yum.length) plan.yum = yum;
  if (await isFile(join(mirror, 'pypi', 'simple', 'index.html'))) plan.pypi = `${root}/pypi/simple/`;
  if ((await list(join(mirror, 'npm'))).some((n) => n !== '-')) plan.npm = `${root}/npm/`;
  if (await isFile(join(mirror, 'helm', 'index.yaml'))) plan.helm = `${root}/helm`;
  return plan;
}

export interface TargetPlanOptions {
  /** Upstream registry hosts, besides those the ledger's image records name. */
  registries: string[];
  /** Image names from the ledger (what was published to the target). */
  imageNames: string[];
  aptSuites: string[];
  yumRepos: string[];
  caFile?: string;
}

/** The Nexus repository / connector endpoints (or standard servers) a configured target names (docs/config.md). */
export function planFromTarget(name: string, target: TargetConfig, config: AirgapConfig, opts: TargetPlanOptions): ClientPlan {
  const noAuth = { headers: {}, secrets: [] };
  let ep: EndpointResolver;
  if (target.type === 'nexus') ep = nexusEndpoints(name, target, config, noAuth);
  else if (target.type === 'registries') ep = registriesTargetEndpoints(name, target, config, noAuth);
  else if (target.type === 'route') throw new UsageError(`target ${name} is a route: name one of its targets (${Object.values(target.routes).join(', ')})`, { subject: `targets.${name}` });
  else throw new UsageError(`target ${name} is a dir target: use --mirror ${target.path} --server URL`, { subject: `targets.${name}` });
  const url = (f: Parameters<EndpointResolver['endpoint']>[0]) => (ep.has(f) ? withSlash(ep.endpoint(f).url) : undefined);
  const plan: ClientPlan = { caFile: opts.caFile };
  const docker = url('docker');
  const hosts = [...new Set([...opts.registries, ...hostsOf(opts.imageNames)])].sort();
  if (docker && hosts.length) {
    const u = new URL(docker);
    plan.registry = { root: u.origin, pathPrefix: u.pathname.replace(/\/+$/, ''), hosts, names: target.imageNames ?? 'keep-host' };
  }
  const apt = url('apt');
  if (apt && opts.aptSuites.length) plan.apt = { url: apt, suites: opts.aptSuites.map((suite) => ({ suite, components: ['main'] })), keyring: { installPath: '/usr/share/keyrings/airgap-nexus-apt.gpg' } };
  const yum = url('yum');
  if (yum) plan.yum = opts.yumRepos.length ? opts.yumRepos.map((r) => ({ name: r, baseurl: `${yum}${encodeURIComponent(r)}/` })) : [{ name: name, baseurl: yum }];
  const pypi = url('pypi');
  if (pypi) plan.pypi = `${pypi}simple/`;
  plan.npm = url('npm');
  const helm = url('helm');
  if (helm) plan.helm = helm.replace(/\/$/, '');
  return plan;
}

/** Write the plan's files under `out` (made if missing; earlier files of the same names replaced). */
export async function writeClientConfig(out: string, plan: ClientPlan): Promise<ClientFile[]> {
  const files = renderClientFiles(plan);
  for (const f of files) {
    const path = join(out, f.path);
    await mkdir(dirname(path), { recursive: true });
    if (f.copyFrom) await copyFile(f.copyFrom, path);
    else await writeFileAtomic(path, f.text);
  }
  return files;
}
