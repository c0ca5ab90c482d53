import { type ResultPromise, execa } from 'execa';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLowPorts } from './ports.js';

/**
 * A real one-node Ceph cluster with a RADOS Gateway (S3) on loopback, from Debian's ceph-mon, ceph-osd,
 * radosgw and ceph-common: one monitor, one OSD on memstore (RAM, nothing on disk), pool size 1, cephx keys
 * made with ceph-authtool the way Ceph's own vstart.sh makes them, radosgw's beast frontend on 127.0.0.1
 * (plain HTTP and, with `tls`, HTTPS with a self-signed certificate), and one S3 user. Every port is a
 * free one picked here, below the kernel's ephemeral range (ports.ts), so several clusters (other test
 * files, other engineers) run side by side.
 * Comes up in about 15-40 s; `stop()` kills every daemon and removes the folder.
 */
export interface Rgw {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** `https://127.0.0.1:PORT` with `tls`; its certificate is `caFile` (self-signed, SAN IP:127.0.0.1). */
  httpsEndpoint?: string;
  caFile?: string;
  accessKey: string;
  secretKey: string;
  dir: string;
  /** Every request radosgw served so far, one beast access-log line each (`"PUT /bucket/key HTTP/1.1" 200 …`). */
  requests(): Promise<string[]>;
  /** `radosgw-admin ARGS` against this cluster (stdout). */
  admin(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startRgw(opts: { tls?: boolean } = {}): Promise<Rgw> {
  const dir = await mkdtemp(join(tmpdir(), 'airgap-rgw-'));
  const daemons: ResultPromise[] = [];
  const killAll = (): void => {
    for (const d of daemons) d.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const stop = async (): Promise<void> => {
    killAll();
    await Promise.allSettled(daemons);
    process.removeListener('exit', killAll);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [monPort, rgwPort, tlsPort] = await freeLowPorts(3);
    const conf = join(dir, 'ceph.conf');
    const fsid = randomUUID();
    for (const d of ['mon', 'osd0', 'rgw', 'run', 'log']) await mkdir(join(dir, d));
    let frontend = `beast endpoint=127.0.0.1:${rgwPort}`;
    let caFile: string | undefined;
    if (opts.tls) {
      caFile = join(dir, 'rgw-cert.pem');
      const key = join(dir, 'rgw-key.pem');
      await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', caFile], { stdin: 'ignore' });
      frontend += ` ssl_endpoint=127.0.0.1:${tlsPort} ssl_certificate=${caFile} ssl_private_key=${key}`;
    }
    await writeFile(conf, `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = ${dir}/keyring
run dir = ${dir}/run
log file = ${dir}/log/$name.log
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
ms bind ipv6 = false
ms bind msgr1 = false
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
[mon.a]
mon data = ${dir}/mon
[osd.0]
keyring = ${dir}/osd0/keyring
osd data = ${dir}/osd0
osd objectstore = memstore
memstore device bytes = 3221225472
osd max object name len = 460
osd max object namespace len = 64
[client.rgw]
keyring = ${dir}/keyring
rgw frontends = ${frontend}
rgw data = ${dir}/rgw
debug rgw = 1
`);
    const run = (cmd: string, args: string[]) => execa(cmd, ['-c', conf, ...args], { cwd: dir, stdin: 'ignore' });
    const daemon = (cmd: string, args: string[]): void => {
      const p = execa(cmd, ['-f', '-c', conf, ...args], { cwd: dir, stdin: 'ignore', reject: false, buffer: false, stdout: 'ignore', stderr: 'ignore' });
      daemons.push(p);
    };
    // The keyring the monitor is made with (vstart.sh): mon., client.admin and the gateway's key, caps included.
    const keyring = join(dir, 'keyring');
    await execa('ceph-authtool', ['--create-keyring', keyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await execa('ceph-authtool', [keyring, '--gen-key', '-n', 'client.admin', '--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow *']);
    await execa('ceph-authtool', [keyring, '--gen-key', '-n', 'client.rgw', '--cap', 'mon', 'allow rw', '--cap', 'osd', 'allow rwx']);
    const monmap = join(dir, 'monmap');
    await execa('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, monmap]);
    await run('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', keyring]);
    daemon('ceph-mon', ['-i', 'a']);

    // The OSD is registered with the monitor first (`ceph osd new`), then made with the same UUID; an OSD
    // made without registering never gets marked up.
    const uuid = randomUUID();
    const osdKey = (await execa('ceph-authtool', ['--gen-print-key'])).stdout.trim();
    await writeFile(join(dir, 'osd0', 'new.json'), JSON.stringify({ cephx_secret: osdKey }));
    await run('ceph', ['osd', 'new', uuid, '-i', join(dir, 'osd0', 'new.json')]);
    await execa('ceph-authtool', ['--create-keyring', join(dir, 'osd0', 'keyring'), '--name', 'osd.0', '--add-key', osdKey]);
    await run('ceph-osd', ['-i', '0', '--mkfs', '--osd-uuid', uuid]);
    daemon('ceph-osd', ['-i', '0']);
    // radosgw waits for the OSD itself while it creates its pools; it answers HTTP once they are active.
    daemon('radosgw', ['-n', 'client.rgw']);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        const res = await fetch(endpoint + '/');
        await res.arrayBuffer();
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`radosgw did not answer on ${endpoint} within 120 s; see ${dir}/log`);
        if (daemons.some((d) => d.exitCode !== null)) throw new Error(`a ceph daemon exited during start-up; see ${dir}/log`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    const accessKey = 'AIRGAPTEST' + randomUUID().slice(0, 8).toUpperCase();
    const secretKey = randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');
    await run('radosgw-admin', ['-n', 'client.rgw', 'user', 'create', '--uid=airgap', '--display-name=airgap test', `--access-key=${accessKey}`, `--secret=${secretKey}`]);
    return {
      endpoint,
      httpsEndpoint: opts.tls ? `https://127.0.0.1:${tlsPort}` : undefined,
      caFile,
      accessKey,
      secretKey,
      dir,
      async requests() {
        const log = await readFile(join(dir, 'log', 'client.rgw.log'), 'utf8');
        return log.split('\n').filter((l) => / beast: .*"[A-Z]+ \S+ HTTP\/[0-9.]+"/.test(l));
      },
      async admin(args) {
        return (await run('radosgw-admin', ['-n', 'client.rgw', ...args])).stdout;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
