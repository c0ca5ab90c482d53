import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { type Artifact, type ConfinedRoot, type PublishContext, type PublishHalf, TargetError, UsageError, dirMirror, dirPublisher, newSha256 } from '@airgap/core';
import { compressionOf, decompress } from './decompress.js';
import { signDetached } from './gpg.js';
import { yumMeta } from './mirror-path.js';
import type { YumTargetSettings } from './spec.js';

/**
 * `yum/<repo>/` in a directory mirror (docs/design.md): RPMs under `Packages/`, `repodata/` made by the real
 * createrepo_c over every RPM in the folder (earlier imports included), the upstream `modules` metadata
 * added back with modifyrepo_c (docs/reference/repo-formats.md §4 pitfall 1), and `repomd.xml.asc` signed by the inside
 * key when `targets.<t>.yum.gpgKey` is set. The modules file is kept as `yum/<repo>/modules.yaml` so later
 * imports keep it; it is metadata, so a newer one replaces it.
 */
function repoDir(ctx: PublishContext, repo: string): ConfinedRoot {
  // Every write, rename and delete goes through the confined root (docs/security.md).
  return dirMirror(ctx, 'yum').under(repo);
}

function pathOf(artifact: Artifact, ctx: PublishContext): { dir: ConfinedRoot; rel: string } {
  const m = yumMeta(artifact);
  return { dir: repoDir(ctx, m.repo), rel: m.role === 'modules' ? 'modules.yaml' : `Packages/${m.file}` };
}



const modulesPlain = (artifact: Artifact, ctx: PublishContext) =>
  decompress(ctx.blobs.open(artifact.blobs[0]), compressionOf(yumMeta(artifact).file), `${artifact.name} (${yumMeta(artifact).file})`);

async function sha256OfStream(chunks: AsyncIterable<Buffer>): Promise<string> {
  const h = newSha256();
  for await (const c of chunks) h.update(c);
  return 'sha256:' + h.digest('hex');
}

/** An RPM under `Packages/`: presence by digest, never overwrite, atomic writes (the core's dir publisher). */
const rpmFiles = dirPublisher({ folder: 'yum', files: (a) => [{ rel: `${yumMeta(a).repo}/Packages/${yumMeta(a).file}`, blob: a.blobs[0] }], label: (a) => `${a.name} ${a.version}` });

export const yumDirPublisher: PublishHalf = {
  async exists(artifact, ctx) {
    if (yumMeta(artifact).role !== 'modules') return rpmFiles.exists(artifact, ctx);
    // The modules metadata is kept uncompressed and replaced by a newer one (it is metadata, not a package).
    const { dir, rel } = pathOf(artifact, ctx);
    return (await dir.isFile(rel)) && (await dir.digest(rel)) === (await sha256OfStream(modulesPlain(artifact, ctx))) ? 'present' : 'absent';
  },

  async publish(artifact, ctx) {
    if (yumMeta(artifact).role !== 'modules') return rpmFiles.publish(artifact, ctx);
    const { dir, rel } = pathOf(artifact, ctx);
    await dir.writeStream(rel, modulesPlain(artifact, ctx));
  },

  async finalize(artifacts, ctx) {
    if (ctx.dryRun) return;
    const repos = [...new Set(artifacts.map((a) => yumMeta(a).repo))].sort();
    const settings = (ctx.target.config as { yum?: YumTargetSettings }).yum;
    for (const repo of repos) {
      const root = repoDir(ctx, repo);
      await root.mkdir('Packages');
      // The same RPMs, modules and key as the repodata was made from: it stays as it is (a re-run changes nothing).
      const inputs = await repodataInputs(root, settings);
      if ((await root.isFile('repodata/repomd.xml')) && (await root.readFile(INPUTS, 'utf8')) === inputs) continue;
      // The tools get the checked, symlink-free path of the repository folder.
      const dir = await root.resolve('', { followLast: true });
      // The new repodata is made, completed and signed beside the old one, then swapped in, so that clients
      // never read a repomd.xml with a signature of another one.
      const stageRel = `.airgap-repodata-${randomBytes(6).toString('hex')}`;
      await root.mkdir(stageRel);
      const stage = join(dir, stageRel);
      try {
        const update = (await root.isFile('repodata/repomd.xml')) ? ['--update', '--update-md-path', dir] : [];
        // gz keeps the mirror readable by EL7 yum and older dnf (docs/reference/repo-formats.md §4 pitfall 2: createrepo_c >= 1.0
        // defaults to zstd). --update reuses the entries of RPMs whose size and mtime did not change.
        await run('createrepo_c', ['--quiet', '--general-compress-type', 'gz', '--excludes', '.airgap-*', ...update, '--outputdir', stage, dir], dir);
        if (await root.isFile('modules.yaml')) {
          await run('modifyrepo_c', ['--mdtype', 'modules', '--compress-type', 'gz', await root.resolve('modules.yaml', { followLast: true }), join(stage, 'repodata')], dir);
        }
        if (settings?.gpgKey) {
          const passphrase = settings.passphraseEnv ? process.env[settings.passphraseEnv] : undefined;
          if (settings.passphraseEnv && passphrase === undefined) {
            throw new UsageError(`targets.${ctx.target.name}.yum.passphraseEnv: environment variable ${settings.passphraseEnv} is not set`, { subject: `targets.${ctx.target.name}.yum` });
          }
          await signDetached(join(stage, 'repodata', 'repomd.xml'), settings.gpgKey, passphrase);
        }
        const old = `.airgap-old-${randomBytes(6).toString('hex')}`;
        const hadOld = await root.rename('repodata', old).then(() => true, () => false);
        await root.rename(`${stageRel}/repodata`, 'repodata');
        if (hadOld) await root.rm(old, { recursive: true });
        await root.writeFile(INPUTS, inputs);
      } finally {
        await root.rm(stageRel, { recursive: true });
      }
      ctx.log.info(`yum/${repo}: repodata written for ${(await root.readdir('Packages')).filter((f) => f.name.endsWith('.rpm')).length} packages${settings?.gpgKey ? ', repomd.xml signed' : ''}`);
    }
  },
};

/** What a repository's repodata is made from, recorded beside it (a dot file: never served, createrepo_c skips `.airgap-*`). */
const INPUTS = '.airgap-repodata.json';

async function repodataInputs(root: ConfinedRoot, settings: YumTargetSettings | undefined): Promise<string> {
  const rpms: [string, number, number][] = [];
  for (const e of (await root.readdir('Packages')).filter((f) => f.isFile() && f.name.endsWith('.rpm')).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const st = (await root.stat(`Packages/${e.name}`))!;
    rpms.push([e.name, st.size, st.mtimeMs]);
  }
  return JSON.stringify({ rpms, modules: (await root.digest('modules.yaml')) ?? null, gpgKey: settings?.gpgKey ?? null });
}

async function run(cmd: string, args: string[], dir: string): Promise<void> {
  const r = await execa(cmd, args, { reject: false });
  if (r.failed || r.exitCode !== 0) {
    const why = (r as { code?: string }).code === 'ENOENT' ? `${cmd} is not installed` : String(r.stderr || r.stdout || r.message).trim().split('\n').pop();
    throw new TargetError(`${dir}: ${cmd} failed: ${why}`, { subject: dir, hint: cmd === 'createrepo_c' || cmd === 'modifyrepo_c' ? 'install createrepo-c (Debian) / createrepo_c (EL)' : undefined });
  }
}
