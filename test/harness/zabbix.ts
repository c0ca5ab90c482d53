/**
 * A real Zabbix 6.0 server for the monitoring tests (docs/monitoring.md), from Debian's packages:
 * a private PostgreSQL cluster in a temp dir (unix socket only, run as the `postgres` user), the
 * schema and data that zabbix-server-pgsql ships, `zabbix_server -f` on a free loopback port (ports.ts), and
 * the frontend's JSON-RPC API (zabbix-frontend-php) served by PHP's built-in server. Started once per
 * test file, torn down after it. Needs root (to run PostgreSQL as `postgres`, as CI does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { freeLowPort } from './ports.js';

export interface ZabbixServer {
  /** The trapper port on 127.0.0.1 (what `notify.zabbix.server` names). */
  port: number;
  /** A JSON-RPC call with the Admin session. Throws on an API error. */
  api<T = any>(method: string, params: unknown): Promise<T>;
  /** The server's log so far (for failure messages). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

class Fatal extends Error {}

async function postgresBin(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (!versions.length) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  return join('/usr/lib/postgresql', versions[0], 'bin');
}

async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + ms;
  let last: unknown;
  while (Date.now() < until) {
    try {
      if (await check()) return;
    } catch (e) {
      if (e instanceof Fatal) throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up within ${ms / 1000} s${last ? `: ${String(last)}` : ''}`);
}

export async function startZabbix(): Promise<ZabbixServer> {
  if (userInfo().uid !== 0) throw new Error('the Zabbix tests run PostgreSQL as the postgres user and need root (as CI runs them)');
  const { uid, gid } = await execa('id', ['-u', 'postgres']).then(async (u) => ({ uid: Number(u.stdout), gid: Number((await execa('id', ['-g', 'postgres'])).stdout) }));
  const dir = await mkdtemp(join(tmpdir(), 'airgap-zabbix-'));
  await chmod(dir, 0o755);
  const pgData = join(dir, 'pg');
  const sock = join(dir, 'sock');
  for (const d of [pgData, sock]) {
    await mkdir(d);
    await chown(d, uid, gid);
  }
  const bin = await postgresBin();
  const children: ChildProcess[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const c of children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    await execa(join(bin, 'pg_ctl'), ['-D', pgData, '-m', 'immediate', 'stop'], { uid, gid, reject: false });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // The database: trust auth on a socket only this test's folder holds; durability is not needed.
    await execa(join(bin, 'initdb'), ['-D', pgData, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], { uid, gid, cwd: dir });
    await execa(
      join(bin, 'pg_ctl'),
      ['-D', pgData, '-l', join(sock, 'postgres.log'), '-w', '-o', `-k ${sock} -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off`, 'start'],
      { uid, gid, cwd: dir },
    );
    const psql = (file?: string) => ['-q', '-v', 'ON_ERROR_STOP=1', '-h', sock, '-U', 'postgres', ...(file ? ['-f', file] : []), 'zabbix'];
    await execa('createdb', ['-h', sock, '-U', 'postgres', 'zabbix']);
    for (const part of ['schema', 'images', 'data']) {
      const sql = join(dir, `${part}.sql`);
      await execa('sh', ['-c', 'zcat "$0" > "$1"', `/usr/share/zabbix-server-pgsql/${part}.sql.gz`, sql]);
      await execa('psql', psql(sql));
      await rm(sql);
    }

    // The server: only the processes trapper values and triggers need; the config cache refreshed every
    // second so hosts and templates made through the API are known to the trapper at once.
    const port = await freeLowPort();
    const zdir = join(dir, 'zabbix');
    await mkdir(zdir);
    const conf = join(zdir, 'zabbix_server.conf');
    await writeFile(
      conf,
      [
        'ListenIP=127.0.0.1',
        `ListenPort=${port}`,
        'LogType=file',
        `LogFile=${join(zdir, 'server.log')}`,
        `PidFile=${join(zdir, 'server.pid')}`,
        `SocketDir=${zdir}`,
        `DBHost=${sock}`,
        'DBName=zabbix',
        'DBUser=postgres',
        'AllowRoot=1',
        'CacheUpdateFrequency=1',
        'StartPollers=1',
        'StartPollersUnreachable=1',
        'StartPingers=0',
        'StartDiscoverers=0',
        'StartHTTPPollers=0',
        'StartTimers=1',
        'StartEscalators=1',
        'StartAlerters=1',
        'StartPreprocessors=1',
        'StartLLDProcessors=1',
        'StartReportWriters=0',
        'StartTrappers=2',
        'HousekeepingFrequency=0',
        '',
      ].join('\n'),
    );
    const server = spawn('zabbix_server', ['-f', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let serverErr = '';
    server.stderr!.on('data', (c) => (serverErr += String(c)));
    children.push(server);

    // The frontend's API, from a copy of the frontend whose config-file path points into this folder
    // (Debian's build reads a fixed /etc path, which a test must not write).
    const web = join(dir, 'web');
    await cp('/usr/share/zabbix', web, { recursive: true });
    const confClass = join(web, 'include/classes/core/CConfigFile.php');
    const webConf = join(dir, 'zabbix.conf.php');
    await writeFile(confClass, (await readFile(confClass, 'utf8')).replace(/const CONFIG_FILE_PATH = '[^']*';/, `const CONFIG_FILE_PATH = '${webConf}';`));
    await writeFile(
      webConf,
      `<?php
$DB['TYPE'] = 'POSTGRESQL';
$DB['SERVER'] = '${sock}';
$DB['PORT'] = '0';
$DB['DATABASE'] = 'zabbix';
$DB['USER'] = 'postgres';
$DB['PASSWORD'] = '';
$DB['SCHEMA'] = '';
$DB['ENCRYPTION'] = false;
$DB['KEY_FILE'] = '';
$DB['CERT_FILE'] = '';
$DB['CA_FILE'] = '';
$DB['VERIFY_HOST'] = false;
$DB['CIPHER_LIST'] = '';
$DB['VAULT_URL'] = '';
$DB['VAULT_DB_PATH'] = '';
$DB['VAULT_TOKEN'] = '';
$DB['DOUBLE_IEEE754'] = true;
$ZBX_SERVER = '127.0.0.1';
$ZBX_SERVER_PORT = '${port}';
$ZBX_SERVER_NAME = 'airgap-test';
$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
`,
    );
    const webPort = await freeLowPort();
    const php = spawn('php', ['-S', `127.0.0.1:${webPort}`, '-t', web], { stdio: 'ignore' });
    children.push(php);
    const url = `http://127.0.0.1:${webPort}/api_jsonrpc.php`;
    let auth: string | undefined;
    let id = 0;
    const api = async <T>(method: string, params: unknown): Promise<T> => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json-rpc' },
        body: JSON.stringify({ jsonrpc: '2.0', method, params, id: ++id, ...(auth && method !== 'apiinfo.version' ? { auth } : {}) }),
      });
      const doc = (await res.json()) as { result?: T; error?: { message: string; data: string } };
      if (doc.error) throw new Error(`Zabbix API ${method}: ${doc.error.message} ${doc.error.data}`);
      return doc.result as T;
    };
    await waitFor('the Zabbix frontend API', 30_000, async () => typeof (await api<string>('apiinfo.version', {})) === 'string');
    auth = await api<string>('user.login', { username: 'Admin', password: 'zabbix' });
    const log = () => readFile(join(zdir, 'server.log'), 'utf8').catch(() => '');
    await waitFor('zabbix_server', 120_000, async () => {
      if (server.exitCode !== null || server.signalCode !== null) {
        throw new Fatal(`zabbix_server exited (${server.exitCode ?? server.signalCode}): ${serverErr}\n${(await log()).split('\n').slice(-20).join('\n')}`);
      }
      return /started \[trapper #1\]/.test(await log());
    }).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n--- server log ---\n${(await log()).split('\n').slice(-20).join('\n')}\n${serverErr}`);
    });
    return { port, api, log, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
