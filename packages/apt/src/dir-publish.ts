import { dirname, resolve as resolvePath } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Artifact, type ConfinedRoot, type PublishContext, type PublishHalf, UsageError, dirMirror, dirPublisher } from '@airgap/core';
import { type Stanza, field, formatStanza, parseStanzas } from './control.js';
import { signRelease } from './gpg.js';
import { aptMeta, dirPoolPath } from './pool.js';
import { declaredSuites, ensureEmptyIndexes, existingSuites } from './suites.js';
import type { AptTargetSettings } from './spec.js';
import { compareVersions } from './version.js';

/** `apt/` of the mirror; every write and delete goes through it (docs/security.md). */
function aptRoot(ctx: PublishContext): ConfinedRoot {
  return dirMirror(ctx, 'apt');
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

/** Every `Packages` file under `dists/<suite>/`, as `<component>/binary-<arch>/Packages` paths. */
async function indexesOf(suiteDir: ConfinedRoot): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const e of await suiteDir.readdir(rel)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile() && /(^|\/)binary-[^/]+\/Packages(\.gz)?$/.test(r)) out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

/** Whether a Packages `Filename` of an earlier import is a file in the mirror (an unsafe one never is). */
async function holdsFile(root: ConfinedRoot, file: string): Promise<boolean> {
  try {
    return await root.isFile(file);
  } catch {
    return false;
  }
}

/**
 * `apt/` in a directory mirror (docs/design.md): `pool/<component>/<prefix>/<source>/*.deb`, and per suite
 * `dists/<suite>/<component>/binary-<arch>/Packages{,.gz}` plus a `Release` with the SHA256 and size
 * of every index, signed into `InRelease` and `Release.gpg` when `targets.<t>.apt.gpgKey` is set.
 */
export const aptDirPublisher: PublishHalf = {
  // The pool file: presence by digest, never overwrite, atomic writes (the core's dir publisher).
  ...dirPublisher({ folder: 'apt', files: (a) => [{ rel: dirPoolPath(a), blob: a.blobs[0] }], label: (a) => `${a.name} ${a.version}` }),

  /**
   * Regenerate the indexes of every suite the bundle touches, then the Release of every suite in the mirror. Packages already listed there stay
   * when their pool file is still in the mirror (an earlier bundle's packages are not dropped);
   * the carried ones (pushed and present) are added. Output is sorted, so the same mirror content
   * always gives the same indexes. Indexes are written before Release and InRelease (docs/reference/repo-formats.md §3
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
      const suiteDir = root.under(`dists/${suite}`);
      for (const [component, byArch] of comps) {
        for (const [arch, carried] of byArch) {
          const dir = `${component}/binary-${arch}`;
          await suiteDir.mkdir(dir);
          const entries = new Map<string, Stanza>();
          for (const s of parseStanzas((await suiteDir.readFile(`${dir}/Packages`, 'utf8')) ?? '')) {
            const file = field(s, 'Filename');
            if (file && (await holdsFile(root, file))) entries.set(keyOf(s), s);
          }
          for (const s of carried) entries.set(keyOf(s), s);
          const sorted = [...entries.values()].sort(
            (x, y) => cmp(field(x, 'Package')!, field(y, 'Package')!) || compareVersions(field(x, 'Version')!, field(y, 'Version')!) || cmp(field(x, 'Architecture')!, field(y, 'Architecture')!),
          );
          const text = sorted.map(formatStanza).join('\n');
          await suiteDir.writeFile(`${dir}/Packages`, text);
          // gzip without a name or time stamp in its header, so the bytes depend only on the text.
          await suiteDir.writeFile(`${dir}/Packages.gz`, gzipSync(Buffer.from(text), { level: 9 }));
        }
      }
    }
    // Every suite ever imported keeps a valid, signed Release (docs/apt.md "Directory mirror"): the ones
    // this bundle carried packages for, the ones its manifest entries read (possibly empty), and the ones
    // earlier bundles left, each signed again with the current key.
    const declared = declaredSuites(artifacts);
    for (const [suite, d] of declared) {
      const archs = d.architectures.size ? d.architectures : archsOfSuite.get(suite) ?? new Set<string>();
      await ensureEmptyIndexes(root.under(`dists/${suite}`), [...d.components].sort(), [...archs].sort());
    }
    const suites = new Set([...plan.keys(), ...declared.keys(), ...(await existingSuites(root))]);
    const unsigned: string[] = [];
    for (const suite of [...suites].sort(cmp)) if (!(await writeRelease(root, root.under(`dists/${suite}`), suite, ctx))) unsigned.push(suite);
    if (unsigned.length) {
      // One warning per mirror, naming its suites (a line per suite said the same thing three times).
      const how = ctx.target.name.startsWith('dir:') ? 'unpack to a configured dir target with apt.gpgKey' : `set targets.${ctx.target.name}.apt.gpgKey`;
      ctx.log.warn(`apt mirror ${root.path('dists')} is unsigned (${unsigned.join(', ')}): clients must mark it [trusted=yes], or ${how} to sign it (docs/apt.md)`);
    }
  },
};

/** Write one suite's Release, signed when the target has apt.gpgKey; false when it is left unsigned. */
async function writeRelease(root: ConfinedRoot, suiteDir: ConfinedRoot, suite: string, ctx: PublishContext): Promise<boolean> {
  const indexes = await indexesOf(suiteDir);
  const components = [...new Set(indexes.map((p) => p.replace(/\/binary-[^/]+\/Packages(\.gz)?$/, '')))].sort();
  const archs = [...new Set(indexes.map((p) => /binary-([^/]+)\/Packages/.exec(p)![1]))].sort();
  let sums = '';
  for (const p of indexes) {
    const st = (await suiteDir.stat(p))!;
    sums += `\n ${(await suiteDir.digest(p))!.slice(7)} ${String(st.size).padStart(16)} ${p}`;
  }
  // Through the deb822 serializer, which refuses control characters and line breaks in values.
  const release = formatStanza([
    ['Origin', 'airgap'], ['Label', 'airgap'], ['Suite', suite], ['Codename', suite], ['Date', releaseDate(ctx.bundle.created)],
    ['Architectures', archs.join(' ')], ['Components', components.join(' ')], ['Description', `airgap mirror of ${suite}`], ['SHA256', sums],
  ]);
  await suiteDir.writeFile('Release', release);
  const settings = (ctx.target.config as { apt?: AptTargetSettings }).apt;
  if (!settings?.gpgKey) {
    // A stale signature over an older Release would make apt refuse the mirror ("BADSIG"): remove it.
    await suiteDir.rm('InRelease');
    await suiteDir.rm('Release.gpg');
    return false;
  }
  const base = ctx.config.configFile ? dirname(ctx.config.configFile) : process.cwd();
  const keyFile = resolvePath(base, settings.gpgKey);
  let passphrase: string | undefined;
  if (settings.passphraseEnv) {
    passphrase = process.env[settings.passphraseEnv];
    if (passphrase === undefined) throw new UsageError(`targets.${ctx.target.name}.apt.passphraseEnv: environment variable ${settings.passphraseEnv} is not set`, { subject: `targets.${ctx.target.name}.apt.passphraseEnv` });
  }
  const sig = await signRelease(await suiteDir.resolve('Release'), keyFile, passphrase);
  await suiteDir.writeFile('Release.gpg', sig.releaseGpg);
  await suiteDir.writeFile('InRelease', sig.inRelease);
  await root.writeFile('airgap-archive-keyring.gpg', sig.publicKey);
  await root.writeFile('airgap-archive-keyring.asc', sig.publicKeyArmored);
  ctx.log.info(`apt mirror ${suiteDir.path()} signed by ${sig.fingerprint}`);
  return true;
}
