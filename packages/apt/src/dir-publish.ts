import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  type Artifact, type PublishContext, type PublishHalf, TargetError, UsageError, writeFileAtomic, fileDigest, writeStreamAtomic } from '@airgap/core';
import { type Stanza, field, formatStanza, parseStanzas } from './control.js';
import { signRelease } from './gpg.js';
import { aptMeta, dirPoolPath } from './pool.js';
import type { AptTargetSettings } from './spec.js';
import { compareVersions } from './version.js';

function aptRoot(ctx: PublishContext): string {
  if (ctx.target.type !== 'dir') throw new TargetError('apt dir publisher used with a non-dir target');
  return join(ctx.target.path, 'apt');
}


/** The Packages stanza of a carried .deb, from the upstream stanza with Filename pointing into this mirror. */
function stanzaOf(a: Artifact): Stanza {
  const m = aptMeta(a);
  const s: Stanza = new Map();
  for (const [k, v] of Object.entries(m.control)) s.set(k, v);
  s.set('Filename', dirPoolPath(a));
  s.set('Size', String(a.blobs[0].size));
  s.set('SHA256', a.digest.slice('sha256:'.length));
  return s;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const keyOf = (s: Stanza) => `${field(s, 'Package')}\0${field(s, 'Version')}\0${field(s, 'Architecture')}`;

/** RFC 2822 date in UTC, as apt expects in `Date:`. */
function releaseDate(iso: string): string {
  const d = new Date(iso);
  return (Number.isNaN(d.getTime()) ? new Date(0) : d).toUTCString().replace('GMT', 'UTC');
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every `Packages` file under `dists/<suite>/`, as `<component>/binary-<arch>/Packages` paths. */
async function indexesOf(suiteDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string) => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(dir, e.name), r);
      else if (e.isFile() && /(^|\/)binary-[^/]+\/Packages(\.gz)?$/.test(r)) out.push(r);
    }
  };
  await walk(suiteDir, '');
  return out.sort();
}

/**
 * `apt/` in a directory mirror (SPEC §7): `pool/<component>/<prefix>/<source>/*.deb`, and per suite
 * `dists/<suite>/<component>/binary-<arch>/Packages{,.gz}` plus a `Release` with the SHA256 and size
 * of every index, signed into `InRelease` and `Release.gpg` when `targets.<t>.apt.gpgKey` is set.
 */
export const aptDirPublisher: PublishHalf = {
  async exists(artifact, ctx) {
    const path = join(aptRoot(ctx), dirPoolPath(artifact));
    let st;
    try {
      st = await stat(path);
    } catch {
      return 'absent';
    }
    if (st.isFile() && st.size === artifact.blobs[0].size && (await fileDigest(path)) === artifact.digest) return 'present';
    throw new TargetError(`${path} already exists with different content than ${artifact.name} ${artifact.version} (${artifact.digest})`, {
      subject: path,
      hint: 'airgap never overwrites a published package: move the old file away if the new one is meant to replace it',
    });
  },

  async publish(artifact, ctx) {
    const path = join(aptRoot(ctx), dirPoolPath(artifact));
    await writeStreamAtomic(ctx.blobs.open(artifact.blobs[0]), path);
  },

  /**
   * Regenerate the indexes of every suite the bundle touches. Packages already listed there stay
   * when their pool file is still in the mirror (an earlier bundle's packages are not dropped);
   * the carried ones (pushed and present) are added. Output is sorted, so the same mirror content
   * always gives the same indexes. Indexes are written before Release and InRelease (repo-formats §3
   * pitfall 2: never let a Release point at indexes that are not there yet).
   */
  async finalize(artifacts, ctx) {
    if (ctx.dryRun || artifacts.length === 0) return;
    const root = aptRoot(ctx);
    // suite → component → arch → stanzas
    const plan = new Map<string, Map<string, Map<string, Stanza[]>>>();
    const archsOfSuite = new Map<string, Set<string>>();
    for (const a of artifacts) {
      const m = aptMeta(a);
      const archs = archsOfSuite.get(m.suite) ?? new Set<string>();
      archsOfSuite.set(m.suite, archs);
      for (const x of m.architectures) archs.add(x);
      if (a.platform && a.platform !== 'all') archs.add(a.platform);
    }
    for (const a of artifacts) {
      const m = aptMeta(a);
      const comps = plan.get(m.suite) ?? new Map<string, Map<string, Stanza[]>>();
      plan.set(m.suite, comps);
      const byArch = comps.get(m.component) ?? new Map<string, Stanza[]>();
      comps.set(m.component, byArch);
      const targets = a.platform === 'all' ? [...archsOfSuite.get(m.suite)!] : [a.platform!];
      for (const arch of targets) {
        const l = byArch.get(arch) ?? [];
        byArch.set(arch, l);
        l.push(stanzaOf(a));
      }
    }
    for (const [suite, comps] of [...plan].sort(([a], [b]) => cmp(a, b))) {
      const suiteDir = join(root, 'dists', suite);
      for (const [component, byArch] of comps) {
        for (const [arch, carried] of byArch) {
          const dir = join(suiteDir, component, `binary-${arch}`);
          await mkdir(dir, { recursive: true });
          const entries = new Map<string, Stanza>();
          for (const s of parseStanzas((await readIfExists(join(dir, 'Packages'))) ?? '')) {
            const file = field(s, 'Filename');
            if (file && (await stat(join(root, file)).then((st) => st.isFile(), () => false))) entries.set(keyOf(s), s);
          }
          for (const s of carried) entries.set(keyOf(s), s);
          const sorted = [...entries.values()].sort(
            (x, y) => cmp(field(x, 'Package')!, field(y, 'Package')!) || compareVersions(field(x, 'Version')!, field(y, 'Version')!) || cmp(field(x, 'Architecture')!, field(y, 'Architecture')!),
          );
          const text = sorted.map(formatStanza).join('\n');
          await writeFileAtomic(join(dir, 'Packages'), text);
          // gzip without a name or time stamp in its header, so the bytes depend only on the text.
          await writeFileAtomic(join(dir, 'Packages.gz'), gzipSync(Buffer.from(text), { level: 9 }));
        }
      }
      await writeRelease(suiteDir, suite, ctx);
    }
  },
};

async function writeRelease(suiteDir: string, suite: string, ctx: PublishContext): Promise<void> {
  const indexes = await indexesOf(suiteDir);
  const components = [...new Set(indexes.map((p) => p.replace(/\/binary-[^/]+\/Packages(\.gz)?$/, '')))].sort();
  const archs = [...new Set(indexes.map((p) => /binary-([^/]+)\/Packages/.exec(p)![1]))].sort();
  let sums = '';
  for (const p of indexes) {
    const full = join(suiteDir, p);
    const st = await stat(full);
    sums += ` ${(await fileDigest(full))!.slice(7)} ${String(st.size).padStart(16)} ${p}\n`;
  }
  const release =
    `Origin: airgap\nLabel: airgap\nSuite: ${suite}\nCodename: ${suite}\nDate: ${releaseDate(ctx.bundle.created)}\n` +
    `Architectures: ${archs.join(' ')}\nComponents: ${components.join(' ')}\nDescription: airgap mirror of ${suite}\nSHA256:\n${sums}`;
  const releasePath = join(suiteDir, 'Release');
  await writeFileAtomic(releasePath, release);
  const settings = (ctx.target.config as { apt?: AptTargetSettings }).apt;
  if (!settings?.gpgKey) {
    // A stale signature over an older Release would make apt refuse the mirror ("BADSIG"): remove it.
    await rm(join(suiteDir, 'InRelease'), { force: true });
    await rm(join(suiteDir, 'Release.gpg'), { force: true });
    const how = ctx.target.name.startsWith('dir:') ? 'unpack to a configured dir target with apt.gpgKey' : `set targets.${ctx.target.name}.apt.gpgKey`;
    ctx.log.warn(`apt mirror ${suiteDir} is unsigned: clients must mark it [trusted=yes], or ${how} to sign it (docs/apt.md)`);
    return;
  }
  const base = ctx.config.configFile ? dirname(ctx.config.configFile) : process.cwd();
  const keyFile = resolvePath(base, settings.gpgKey);
  let passphrase: string | undefined;
  if (settings.passphraseEnv) {
    passphrase = process.env[settings.passphraseEnv];
    if (passphrase === undefined) throw new UsageError(`targets.${ctx.target.name}.apt.passphraseEnv: environment variable ${settings.passphraseEnv} is not set`, { subject: `targets.${ctx.target.name}.apt.passphraseEnv` });
  }
  const sig = await signRelease(releasePath, keyFile, passphrase);
  await writeFileAtomic(join(suiteDir, 'Release.gpg'), sig.releaseGpg);
  await writeFileAtomic(join(suiteDir, 'InRelease'), sig.inRelease);
  const aptDir = dirname(dirname(suiteDir));
  await writeFileAtomic(join(aptDir, 'airgap-archive-keyring.gpg'), sig.publicKey);
  await writeFileAtomic(join(aptDir, 'airgap-archive-keyring.asc'), sig.publicKeyArmored);
  ctx.log.info(`apt mirror ${suiteDir} signed by ${sig.fingerprint}`);
}
