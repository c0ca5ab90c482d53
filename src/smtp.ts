import { randomBytes } from 'node:crypto';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { type TLSSocket, connect as tlsConnect, rootCertificates } from 'node:tls';
import type { NotifySettings } from '@airgap/core';

/** `notify.smtp` of the config (docs/config.md). Port 465 is TLS from the start; `starttls` requires the upgrade. */
export type SmtpSettings = NonNullable<NotifySettings['smtp']>;

export interface MailOptions {
  env: NodeJS.ProcessEnv;
  /** Extra CAs (PEM) for the server's certificate: the config's http.caFile. */
  ca?: string;
  timeoutMs?: number;
}

interface Reply {
  code: number;
  lines: string[];
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * A small SMTP client (RFC 5321) on node:net/tls: EHLO, optional STARTTLS (RFC 3207), optional AUTH
 * PLAIN (RFC 4954), MAIL FROM, RCPT TO, DATA, QUIT. It only ever sends one short text/plain summary
 * (docs/cron.md), which is why a mail library's MIME, pooling and transports are not needed here.
 * Credentials are sent only over TLS (or to a loopback relay) and never appear in errors.
 */
export async function sendMail(settings: SmtpSettings, subject: string, text: string, opts: MailOptions): Promise<void> {
  const to = Array.isArray(settings.to) ? settings.to : [settings.to];
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const implicitTls = settings.port === 465;
  const tlsOptions = { host: settings.host, servername: isIP(settings.host) ? undefined : settings.host, ca: opts.ca ? [...rootCertificates, opts.ca] : undefined };
  let socket: Socket | TLSSocket = implicitTls
    ? tlsConnect({ port: settings.port, ...tlsOptions })
    : netConnect({ host: settings.host, port: settings.port });
  let secure = implicitTls;
  let buffer = '';
  let failure: Error | undefined;
  let waiting: ((r: Reply | Error) => void) | undefined;
  const replies: Reply[] = [];
  let pending: string[] = [];

  const onData = (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      pending.push(line);
      // The last line of a reply is `ddd text`; continuation lines are `ddd-text` (RFC 5321 §4.2).
      if (/^\d{3}(?: |$)/.test(line)) {
        replies.push({ code: Number(line.slice(0, 3)), lines: pending.map((l) => l.slice(4)) });
        pending = [];
      }
    }
    flush();
  };
  const onError = (e: Error) => {
    failure = e;
    flush();
  };
  const flush = () => {
    if (!waiting) return;
    const w = waiting;
    if (replies.length) {
      waiting = undefined;
      w(replies.shift()!);
    } else if (failure) {
      waiting = undefined;
      w(failure);
    }
  };
  const attach = (s: Socket | TLSSocket) => {
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    s.on('data', onData);
    s.on('error', onError);
    s.on('close', () => onError(failure ?? new Error('the server closed the connection')));
  };
  attach(socket);

  const reply = () => new Promise<Reply>((resolve, reject) => {
    waiting = (r) => (r instanceof Error ? reject(r) : resolve(r));
    flush();
  });
  const expect = async (what: string, ok: number[]): Promise<Reply> => {
    const r = await reply();
    if (!ok.includes(r.code)) throw new Error(`${what}: the server answered ${r.code} ${r.lines.join(' ')}`);
    return r;
  };
  const send = async (line: string, what: string, ok: number[]) => {
    socket.write(line + '\r\n');
    return expect(what, ok);
  };

  try {
    await expect('greeting', [220]);
    const helo = hostname() || 'airgap';
    let ehlo = await send(`EHLO ${helo}`, 'EHLO', [250]);
    if (settings.starttls && !secure) {
      if (!ehlo.lines.some((l) => /^STARTTLS\b/i.test(l))) throw new Error('starttls is set but the server does not offer STARTTLS');
      await send('STARTTLS', 'STARTTLS', [220]);
      socket.removeAllListeners('data');
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      socket.setTimeout(0);
      const plain = socket;
      socket = await new Promise<TLSSocket>((resolve, reject) => {
        const t = tlsConnect({ socket: plain, ...tlsOptions }, () => resolve(t));
        t.once('error', reject);
      });
      secure = true;
      attach(socket);
      ehlo = await send(`EHLO ${helo}`, 'EHLO after STARTTLS', [250]);
    }
    if (settings.usernameEnv || settings.passwordEnv) {
      const user = settings.usernameEnv ? opts.env[settings.usernameEnv] : undefined;
      const pass = settings.passwordEnv ? opts.env[settings.passwordEnv] : undefined;
      if (!user || !pass) throw new Error(`${[settings.usernameEnv, settings.passwordEnv].filter(Boolean).join(' or ')} is not set`);
      if (!secure && !isLoopback(settings.host)) throw new Error('refusing to send the SMTP password without TLS: set starttls: true or use port 465');
      // AUTH PLAIN's reply never echoes the credentials, so an error below cannot leak them.
      await send(`AUTH PLAIN ${Buffer.from(`\u0000${user}\u0000${pass}`).toString('base64')}`, 'AUTH PLAIN', [235]);
    }
    await send(`MAIL FROM:<${settings.from}>`, 'MAIL FROM', [250]);
    for (const rcpt of to) await send(`RCPT TO:<${rcpt}>`, `RCPT TO ${rcpt}`, [250, 251]);
    await send('DATA', 'DATA', [354]);
    socket.write(message(settings.from, to, subject, text));
    await expect('end of DATA', [250]);
    socket.write('QUIT\r\n');
    await expect('QUIT', [221]).catch(() => undefined);
  } finally {
    socket.destroy();
  }
}

function encodeHeader(value: string): string {
  // RFC 2047 for anything that is not plain ASCII.
  return /^[\x20-\x7e]*$/.test(value) ? value : `=?utf-8?B?${Buffer.from(value).toString('base64')}?=`;
}

function message(from: string, to: string[], subject: string, text: string): string {
  const domain = from.includes('@') ? from.slice(from.lastIndexOf('@') + 1) : 'airgap';
  const head = [
    `From: ${from}`,
    `To: ${to.join(', ')}`,
    `Subject: ${encodeHeader(subject)}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${Date.now()}.${randomBytes(6).toString('hex')}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    'X-Mailer: airgap',
  ];
  // CRLF line ends and dot-stuffing (RFC 5321 §4.5.2): a body line starting with "." gets another.
  const body = text.replace(/\r?\n/g, '\n').split('\n').map((l) => (l.startsWith('.') ? '.' + l : l));
  return [...head, '', ...body].join('\r\n') + '\r\n.\r\n';
}
