import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';

export interface ReceivedMail {
  from: string;
  to: string[];
  data: string;
  /** `user:password` from AUTH PLAIN, if the client authenticated. */
  auth?: string;
  /** Whether the session was upgraded with STARTTLS before MAIL FROM. */
  tls: boolean;
}

export interface SmtpServer {
  port: number;
  mails: ReceivedMail[];
  /** Every command line received, in order (AUTH lines included as sent). */
  commands: string[];
  close(): Promise<void>;
}

/**
 * A small SMTP server on 127.0.0.1 for tests (RFC 5321 subset): EHLO/HELO, STARTTLS (when given a
 * key and certificate), AUTH PLAIN, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT.
 * `rejectRcpt` answers 550 to RCPT TO, as a relay that refuses the recipient would.
 */
export async function startSmtpServer(opts: { tls?: { key: string; cert: string }; rejectRcpt?: boolean } = {}): Promise<SmtpServer> {
  const mails: ReceivedMail[] = [];
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    let sock: Socket = raw;
    let buf = '';
    let inData = false;
    let data: string[] = [];
    let mail: Partial<ReceivedMail> = { to: [] };
    let secure = false;
    let auth: string | undefined;
    const say = (line: string) => sock.write(line + '\r\n');
    const onLine = (line: string) => {
      if (inData) {
        if (line === '.') {
          inData = false;
          mails.push({ from: mail.from!, to: mail.to!, data: data.join('\n'), auth, tls: secure });
          mail = { to: [] };
          data = [];
          say('250 2.0.0 queued');
        } else data.push(line.startsWith('..') ? line.slice(1) : line);
        return;
      }
      commands.push(line);
      const verb = line.split(' ')[0].toUpperCase();
      if (verb === 'EHLO') {
        const ext = [...(opts.tls && !secure ? ['STARTTLS'] : []), 'AUTH PLAIN', '8BITMIME'];
        say('250-test.smtp.local greets you');
        ext.forEach((e, i) => say(`250${i === ext.length - 1 ? ' ' : '-'}${e}`));
      } else if (verb === 'HELO') say('250 test.smtp.local');
      else if (verb === 'STARTTLS' && opts.tls) {
        say('220 2.0.0 ready for TLS');
        raw.removeAllListeners('data');
        const t = new TLSSocket(raw, { isServer: true, secureContext: createSecureContext({ key: opts.tls.key, cert: opts.tls.cert }) });
        sock = t;
        secure = true;
        buf = '';
        t.on('data', onData);
        t.on('error', () => raw.destroy());
      } else if (verb === 'AUTH') {
        const [, mech, b64] = line.split(' ');
        if (mech?.toUpperCase() !== 'PLAIN' || !b64) return say('504 5.5.4 only AUTH PLAIN with an initial response');
        const [, user, pass] = Buffer.from(b64, 'base64').toString('utf8').split('\u0000');
        auth = `${user}:${pass}`;
        say('235 2.7.0 authenticated');
      } else if (verb === 'MAIL') {
        mail.from = /<(.*)>/.exec(line)?.[1] ?? '';
        say('250 2.1.0 ok');
      } else if (verb === 'RCPT') {
        if (opts.rejectRcpt) return say('550 5.1.1 no such user here');
        mail.to!.push(/<(.*)>/.exec(line)?.[1] ?? '');
        say('250 2.1.5 ok');
      } else if (verb === 'DATA') {
        inData = true;
        say('354 end with <CRLF>.<CRLF>');
      } else if (verb === 'QUIT') {
        say('221 2.0.0 bye');
        sock.end();
      } else if (verb === 'RSET' || verb === 'NOOP') say('250 ok');
      else say('502 5.5.2 command not implemented');
    };
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        onLine(line);
      }
    };
    raw.on('data', onData);
    raw.on('error', () => undefined);
    say('220 test.smtp.local ESMTP ready');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    mails,
    commands,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
