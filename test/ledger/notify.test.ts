/**
 * Issue 3 "must show": after pack and unpack a short summary goes to a Mattermost incoming webhook (a
 * local HTTP server here) and by mail (a small loopback SMTP server, test/ledger/smtp-server.ts, with
 * STARTTLS on a certificate openssl makes in the test); a channel that fails only warns.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap, runAirgapJson } from '../harness/index.js';
import { freeLowPort } from '../harness/ports.js';
import { type Fixture, fixture } from './fixtures.js';
import { type SmtpServer, startSmtpServer } from './smtp-server.js';

let f: Fixture;
let manifest: string;
let bundle: string;
let hook: { server: Server; url: string; posts: { path: string; contentType?: string; body: string }[] };

async function startHook(): Promise<typeof hook> {
  const posts: (typeof hook)['posts'] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', contentType: req.headers['content-type'], body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, posts, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/x7f3secretkey` };
}

async function config(name: string, notify: string, extra = ''): Promise<string> {
  const p = join(f.work, name);
  await writeFile(p, `notify:\n${notify}\n${extra}`);
  return p;
}

beforeAll(async () => {
  f = await fixture();
  const names = await f.files('n', 2);
  manifest = await f.manifest('n.yaml', 'notify-me', names.map((url) => ({ url, path: 'n/' })));
  bundle = (await f.pack(manifest, 'out-n')).bundle;
  hook = await startHook();
});

afterAll(async () => {
  await new Promise((r) => hook?.server.close(r));
});

describe('Mattermost', () => {
  it('receives a short summary after unpack (ok) and after a failed unpack', async () => {
    const cfg = await config('mm.yaml', `  mattermost: { url: "${hook.url}" }`);
    const ok = await runAirgap([...f.unpackArgs(bundle, `dir:${join(f.work, 'mirror-mm')}`, join(f.work, 'mm.jsonl')), '--config', cfg], { cwd: f.work });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(hook.posts).toHaveLength(1);
    expect(hook.posts[0].path).toBe('/hooks/x7f3secretkey');
    expect(hook.posts[0].contentType).toBe('application/json');
    const doc = JSON.parse(hook.posts[0].body);
    expect(Object.keys(doc)).toEqual(['text']);
    expect(doc.text).toMatch(/^airgap unpack notify-me: OK \(/);
    expect(doc.text).toMatch(/2 pushed; 4\.0+ KiB pushed in/);
    expect(doc.text.length).toBeLessThan(1000);

    // A bundle signed by a key that is not trusted: exit 3, and the channel hears about it.
    await runAirgap(['keygen', '--out-dir', f.keys, '--name', 'stranger']);
    const bad = await runAirgap(['unpack', bundle, '--to', `dir:${join(f.work, 'mirror-mm')}`, '--pub', join(f.keys, 'stranger.pub'), '--ledger', join(f.work, 'mm.jsonl'), '--config', cfg], { cwd: f.work });
    expect(bad.exitCode).toBe(3);
    expect(hook.posts).toHaveLength(2);
    expect(JSON.parse(hook.posts[1].body).text).toMatch(/^airgap unpack .*: FAILED \(exit 3\)/);
  });

  it('receives the pack summary too', async () => {
    const before = hook.posts.length;
    const cfg = await config('mm-pack.yaml', `  mattermost: { url: "${hook.url}" }`);
    const r = await runAirgap(['pack', manifest, '--out', join(f.work, 'out-mm'), '--key', join(f.keys, 'outside.key'), '--cache', f.cache, '--config', cfg], { cwd: f.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(hook.posts).toHaveLength(before + 1);
    expect(JSON.parse(hook.posts[before].body).text).toMatch(/^airgap pack notify-me-\d{8}T\d{6}Z: OK .*\n2 artifacts, 2 blobs, 1 parts/);
  });

  it('an unreachable webhook only warns: the job exits 0 and the hook key is not printed', async () => {
    // A port nothing listens on, below the kernel's ephemeral range so no other test's server takes it meanwhile.
    const port = await freeLowPort();
    const cfg = await config('mm-dead.yaml', `  mattermost: { url: "http://127.0.0.1:${port}/hooks/deadsecret99" }`);
    const r = await runAirgapJson([...f.unpackArgs(bundle, `dir:${join(f.work, 'mirror-dead')}`, join(f.work, 'dead.jsonl')), '--config', cfg], { cwd: f.work });
    expect(r.exitCode).toBe(0);
    expect(r.json.counts).toEqual({ pushed: 2 });
    expect(r.stderr).toMatch(new RegExp(`warning: notification to Mattermost http://127\\.0\\.0\\.1:${port}/hooks/… failed: .*connection refused`));
    expect(r.stderr).not.toContain('deadsecret99');
  });
});

describe('SMTP', () => {
  let plain: SmtpServer;
  let secure: SmtpServer;
  let refusing: SmtpServer;
  let cert: string;

  beforeAll(async () => {
    const key = join(f.work, 'smtp.key');
    cert = join(f.work, 'smtp.crt');
    await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    plain = await startSmtpServer();
    secure = await startSmtpServer({ tls: { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') } });
    refusing = await startSmtpServer({ rejectRcpt: true });
  });
  afterAll(async () => {
    await Promise.all([plain?.close(), secure?.close(), refusing?.close()]);
  });

  it('a loopback SMTP server receives the unpack summary', async () => {
    const cfg = await config('smtp.yaml', `  smtp: { host: 127.0.0.1, port: ${plain.port}, from: airgap@corp.internal, to: [ops@corp.internal, audit@corp.internal] }`);
    const r = await runAirgap([...f.unpackArgs(bundle, `dir:${join(f.work, 'mirror-smtp')}`, join(f.work, 'smtp.jsonl')), '--config', cfg], { cwd: f.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    expect(plain.mails).toHaveLength(1);
    const m = plain.mails[0];
    expect(m.from).toBe('airgap@corp.internal');
    expect(m.to).toEqual(['ops@corp.internal', 'audit@corp.internal']);
    expect(m.tls).toBe(false);
    expect(m.data).toMatch(/^Subject: airgap unpack notify-me: OK$/m);
    expect(m.data).toMatch(/^To: ops@corp\.internal, audit@corp\.internal$/m);
    expect(m.data).toMatch(/\n\nairgap unpack notify-me: OK \(.*\)\nbundle notify-me of .* → dir:/);
  });

  it('STARTTLS and AUTH PLAIN: the password goes only over TLS and never into the output', async () => {
    const cfg = await config(
      'smtp-tls.yaml',
      `  smtp: { host: 127.0.0.1, port: ${secure.port}, from: airgap@corp.internal, to: ops@corp.internal, starttls: true, usernameEnv: SMTP_USER, passwordEnv: SMTP_PASSWORD }`,
      `http: { caFile: ${cert} }\n`,
    );
    const r = await runAirgap([...f.unpackArgs(bundle, `dir:${join(f.work, 'mirror-tls')}`, join(f.work, 'tls.jsonl')), '--config', cfg], {
      cwd: f.work,
      env: { SMTP_USER: 'airgap', SMTP_PASSWORD: 'pa55-w0rd-xyz' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    expect(secure.mails).toHaveLength(1);
    expect(secure.mails[0]).toMatchObject({ tls: true, auth: 'airgap:pa55-w0rd-xyz', to: ['ops@corp.internal'] });
    // AUTH came after STARTTLS: the first EHLO is followed by STARTTLS, the credentials only later.
    expect(secure.commands.map((c) => c.split(' ')[0])).toEqual(['EHLO', 'STARTTLS', 'EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT']);
    expect(r.stdout + r.stderr).not.toContain('pa55-w0rd-xyz');
  });

  it('a server that refuses the recipient only warns', async () => {
    const cfg = await config('smtp-refuse.yaml', `  smtp: { host: 127.0.0.1, port: ${refusing.port}, from: airgap@corp.internal, to: nobody@corp.internal }`);
    const r = await runAirgap([...f.unpackArgs(bundle, `dir:${join(f.work, 'mirror-refuse')}`, join(f.work, 'refuse.jsonl')), '--config', cfg], { cwd: f.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`warning: notification mail via 127\\.0\\.0\\.1:${refusing.port} failed: RCPT TO nobody@corp\\.internal: the server answered 550`));
  });
});
