import { execa } from 'execa';
import { mkdir, readFile, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';

/** Folder trees as files sources (docs/manifest.md, docs/backups.md): newest, include/exclude, refusals by name. */
let work: string;
let keys: string;

async function pack(manifest: string) {
  return runAirgap(['pack', manifest, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache'), '--json'], { cwd: work });
}

async function manifest(name: string, files: string): Promise<string> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, `apiVersion: airgap/v1\nkind: Bundle\nname: ${name}\nfiles:\n${files}`);
  return file;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, pre: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name), `${pre}${e.name}/`);
      else out.push(pre + e.name);
    }
  };
  await walk(dir, '');
  return out.sort();
}

beforeAll(async () => {
  work = await tempDir('airgap-tree-');
  keys = join(work, 'keys');
  expect((await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside'])).exitCode).toBe(0);
  // Ten daily etcd snapshots whose names do NOT sort like their times: newest must go by mtime.
  const etcd = join(work, 'srv', 'etcd');
  await mkdir(etcd, { recursive: true });
  const day = 86_400;
  for (let i = 1; i <= 10; i++) {
    const f = join(etcd, `snapshot-${String(11 - i).padStart(2, '0')}.db`);
    await writeFile(f, `etcd snapshot taken on day ${i}\n`);
    await utimes(f, 1_780_000_000 + i * day, 1_780_000_000 + i * day);
  }
  await writeFile(join(etcd, 'snapshot.db.part'), 'being written');
  // A Zabbix export folder with nested folders and an old/ to leave out.
  const zbx = join(work, 'zabbix');
  for (const d of ['hosts', 'templates', 'old']) await mkdir(join(zbx, d), { recursive: true });
  await writeFile(join(zbx, 'hosts', 'hosts.xml.gz'), 'hosts');
  await writeFile(join(zbx, 'templates', 'linux.xml.gz'), 'linux');
  await writeFile(join(zbx, 'templates', 'README'), 'not an export');
  await writeFile(join(zbx, 'old', 'hosts-2025.xml.gz'), 'old hosts');
});

describe('folder trees', () => {
  it('newest: 3 of ten snapshots carries exactly the three newest (by mtime), byte for byte', async () => {
    const m = await manifest('etcd', `  - url: ${pathToFileURL(join(work, 'srv', 'etcd'))}/\n    include: ["*.db"]\n    newest: 3\n    path: backups/etcd/\n`);
    const r = await pack(m);
    expect(r.exitCode, r.stderr).toBe(0);
    const bundle = JSON.parse(r.stdout).bundle;
    const mirror = join(work, 'mirror-etcd');
    const u = await runAirgapJson(['unpack', bundle, '--to', `dir:${mirror}`, '--pub', join(keys, 'outside.pub'), '--ledger', join(work, 'etcd.jsonl')], { cwd: work });
    expect(u.exitCode, u.stderr).toBe(0);
    // Days 10, 9, 8 are snapshot-01, -02, -03.
    expect(await listFiles(join(mirror, 'files'))).toEqual(['backups/etcd/snapshot-01.db', 'backups/etcd/snapshot-02.db', 'backups/etcd/snapshot-03.db']);
    for (const [name, dayN] of [['01', 10], ['02', 9], ['03', 8]] as const) {
      expect(await readFile(join(mirror, 'files', 'backups', 'etcd', `snapshot-${name}.db`), 'utf8')).toBe(`etcd snapshot taken on day ${dayN}\n`);
    }
  });

  it('include/exclude are honoured on nested paths; a relative folder lands under its own name', async () => {
    const m = await manifest('zabbix', '  - url: ./zabbix/\n    include: ["**/*.xml.gz"]\n    exclude: ["old/**"]\n');
    const r = await runAirgapJson(['pack', m, '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache'), '--dry-run'], { cwd: work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((r.json.list as { name: string }[]).map((a) => a.name).sort()).toEqual(['zabbix/hosts/hosts.xml.gz', 'zabbix/templates/linux.xml.gz']);
  });

  it('a symlink in the tree is refused by name (exit 2); excluding it lets the rest through', async () => {
    const dir = join(work, 'withlink');
    await mkdir(dir);
    await writeFile(join(dir, 'ok.db'), 'fine');
    await symlink('/etc/passwd', join(dir, 'link.db'));
    const r = await pack(await manifest('withlink', `  - url: ${dir}/\n`));
    expect(r.exitCode, r.stdout).toBe(2);
    expect(r.stdout).toMatch(/link\.db: a symbolic link/);
    expect(r.stdout).not.toMatch(/root:/);
    const ok = await pack(await manifest('withlink', `  - url: ${dir}/\n    exclude: [link.db]\n`));
    expect(ok.exitCode, ok.stdout).toBe(0);
  });

  it('a FIFO in the tree is refused by name', async () => {
    const dir = join(work, 'withfifo');
    await mkdir(dir);
    await writeFile(join(dir, 'ok.db'), 'fine');
    await execa('mkfifo', [join(dir, 'queue')]);
    const r = await pack(await manifest('withfifo', `  - url: ${dir}/\n`));
    expect(r.exitCode, r.stdout).toBe(2);
    expect(r.stdout).toMatch(/queue: a FIFO/);
  });

  it('manifest mistakes: an s3:// tree without s3:, newest on a single file, a tree URL without a trailing /', async () => {
    const noConn = await pack(await manifest('noconn', '  - url: s3://velero/backups/\n'));
    expect(noConn.exitCode).toBe(2);
    expect(JSON.parse(noConn.stdout).error.message).toMatch(/files\[0\]: missing required key s3/);
    const single = await pack(await manifest('single', '  - url: https://example.invalid/a.tar.gz\n    newest: 3\n'));
    expect(single.exitCode).toBe(2);
    expect(single.stdout).toMatch(/newest/);
    const noSlash = await pack(await manifest('noslash', '  - url: s3://velero/backups\n    s3: ceph\n'));
    expect(noSlash.exitCode).toBe(2);
    expect(noSlash.stdout).toMatch(/ending in \//);
  });

  it('a tree entry naming an S3 connection the config lacks: exit 2 naming it', async () => {
    const r = await pack(await manifest('unknown', '  - url: s3://velero/\n    s3: nowhere\n'));
    expect(r.exitCode, r.stdout).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toMatch(/no S3 connection named "nowhere"/);
  });
});
