import { readFile } from 'node:fs/promises';
import { type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ZabbixSettings } from '@airgap/core';

/** One trapper value: the item key on the configured host, and its value. */
export interface TrapperValue {
  key: string;
  value: string | number;
}

/** The server's answer to a `sender data` request: `processed: N; failed: N; total: N; …`. */
export interface SenderAnswer {
  response: string;
  processed: number;
  failed: number;
  total: number;
  info: string;
}

export const ZABBIX_DEFAULT_PORT = 10051;
/** The server answers in milliseconds; a monitoring hiccup must never hold up a cron run for long. */
const TIMEOUT_MS = 10_000;
/** An answer is a few hundred bytes; anything much larger is not a Zabbix server. */
const MAX_ANSWER = 64 * 1024;

export function serverAddress(server: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(server);
  if (!m) throw new Error(`not a host or host:port: ${server}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : ZABBIX_DEFAULT_PORT };
}

/**
 * The Zabbix sender protocol (what `zabbix_sender` speaks to the trapper port): a header `ZBXD`, the
 * flags byte 0x01 (protocol version 1, no compression), the JSON length as a 64-bit little-endian
 * number (two 32-bit halves: data length, reserved 0), then the JSON `sender data` request. The server
 * answers with the same framing and `{"response":"success","info":"processed: 1; failed: 0; …"}`.
 * With `tls`, the same bytes go inside TLS with a pre-shared key (`zabbix_sender --tls-connect psk`);
 * the server tells TLS from plain by the first byte. docs/monitoring.md.
 */
export function frame(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const header = Buffer.alloc(13);
  header.write('ZBXD', 0, 'latin1');
  header[4] = 0x01;
  header.writeUInt32LE(body.length, 5);
  header.writeUInt32LE(0, 9);
  return Buffer.concat([header, body]);
}

/** Parse a framed answer; `undefined` while more bytes are needed. */
export function unframe(buf: Buffer): string | undefined {
  if (buf.length < 13) return undefined;
  if (buf.toString('latin1', 0, 4) !== 'ZBXD') throw new Error('the answer is not Zabbix protocol (no ZBXD header)');
  if ((buf[4] & 0x02) !== 0) throw new Error('the answer is compressed, which a sender never asks for');
  const len = buf.readUInt32LE(5);
  if (len > MAX_ANSWER) throw new Error(`the answer claims ${len} bytes, more than a Zabbix server sends`);
  if (buf.length < 13 + len) return undefined;
  return buf.toString('utf8', 13, 13 + len);
}

export function parseAnswer(json: string): SenderAnswer {
  let doc: { response?: unknown; info?: unknown };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch {
    throw new Error('the answer is not JSON');
  }
  const info = typeof doc.info === 'string' ? doc.info : '';
  const num = (name: string) => Number(new RegExp(`${name}:\\s*(\\d+)`).exec(info)?.[1] ?? NaN);
  return { response: String(doc.response ?? ''), info, processed: num('processed'), failed: num('failed'), total: num('total') };
}

/** Send values for one host in one request and return the server's count of what it took. */
export async function sendTrapperValues(settings: ZabbixSettings, values: TrapperValue[], now = new Date()): Promise<SenderAnswer> {
  const { host, port } = serverAddress(settings.server);
  const clock = Math.floor(now.getTime() / 1000);
  const ns = (now.getTime() % 1000) * 1_000_000;
  const request = frame(
    JSON.stringify({
      request: 'sender data',
      data: values.map((v) => ({ host: settings.host, key: v.key, value: String(v.value), clock, ns })),
      clock,
      ns,
    }),
  );
  const psk = settings.tls ? await readPsk(settings.tls.pskFile) : undefined;
  const answer = await exchange(host, port, request, psk && settings.tls ? { identity: settings.tls.pskIdentity, psk } : undefined);
  const parsed = parseAnswer(answer);
  if (parsed.response !== 'success') throw new Error(`the server answered "${parsed.response}"${parsed.info ? `: ${parsed.info}` : ''}`);
  return parsed;
}

/** The PSK file holds the key as hex, at least 32 digits (16 bytes), as Zabbix requires. */
async function readPsk(file: string): Promise<Buffer> {
  const text = (await readFile(file, 'utf8')).trim();
  if (!/^[0-9a-fA-F]{32,512}$/.test(text) || text.length % 2 !== 0) {
    throw new Error(`${file}: not a pre-shared key (expected 32 to 512 hex digits, an even count)`);
  }
  return Buffer.from(text, 'hex');
}

function exchange(host: string, port: number, request: Buffer, psk?: { identity: string; psk: Buffer }): Promise<string> {
  return new Promise((resolve, reject) => {
    let socket: Socket;
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error, text?: string) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.destroy();
      if (err) reject(err);
      else resolve(text ?? '');
    };
    const timer = setTimeout(() => done(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
    const send = () => socket.write(request);
    if (psk) {
      socket = tlsConnect({
        host,
        port,
        // TLS 1.2 PSK suites: what Zabbix offers for PSK with both its GnuTLS and OpenSSL builds.
        maxVersion: 'TLSv1.2',
        ciphers: 'PSK',
        pskCallback: () => psk,
        // PSK authenticates both ends by the shared key; there is no certificate to check.
        checkServerIdentity: () => undefined,
      });
      socket.once('secureConnect', send);
    } else {
      socket = tcpConnect({ host, port });
      socket.once('connect', send);
    }
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size > MAX_ANSWER + 13) return done(new Error('the answer is too large for a Zabbix server'));
      try {
        const text = unframe(Buffer.concat(chunks));
        if (text !== undefined) done(undefined, text);
      } catch (e) {
        done(e as Error);
      }
    });
    socket.once('end', () => done(new Error('the server closed the connection without an answer (wrong PSK, or TLS required for this host?)')));
    socket.once('error', (e) => done(e));
  });
}
