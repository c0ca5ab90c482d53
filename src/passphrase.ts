import { resolve } from 'node:path';
import { UsageError, readRegularFile, registerSecret } from '@airgap/core';

/** minisign's PASSWORDMAXBYTES: the longest passphrase either tool reads. */
const MAX_PASSPHRASE = 1024;

/**
 * Where the signing key's passphrase comes from (docs/security.md, key handling): the file named by
 * AIRGAP_KEY_PASSWORD_FILE (cron: one line, a trailing newline ignored), else a prompt on the terminal
 * (nothing echoed). Neither → exit 2 saying how to give one. The passphrase is registered as a secret,
 * so no message can print it.
 */
export function passphraseSource(opts: { confirm?: boolean; env?: NodeJS.ProcessEnv } = {}): () => Promise<string> {
  const env = opts.env ?? process.env;
  return async () => {
    let pass: string;
    const file = env.AIRGAP_KEY_PASSWORD_FILE;
    if (file) {
      const buf = await readRegularFile(resolve(file), { max: MAX_PASSPHRASE + 2, what: 'AIRGAP_KEY_PASSWORD_FILE' });
      pass = buf.toString('utf8').replace(/\r?\n$/, '');
      if (/[\r\n]/.test(pass)) throw new UsageError(`AIRGAP_KEY_PASSWORD_FILE ${file}: the passphrase file holds more than one line`, { subject: 'AIRGAP_KEY_PASSWORD_FILE' });
    } else if (process.stdin.isTTY && process.stderr.isTTY) {
      pass = await prompt('Passphrase for the signing key: ');
      if (opts.confirm && (await prompt('Passphrase again: ')) !== pass) {
        throw new UsageError('the two passphrases differ', { hint: 'run keygen --encrypt again' });
      }
    } else {
      throw new UsageError('a passphrase is needed and there is no terminal to ask on', {
        subject: 'AIRGAP_KEY_PASSWORD_FILE',
        hint: 'set AIRGAP_KEY_PASSWORD_FILE to a file (mode 0600) holding the passphrase (docs/security.md)',
      });
    }
    if (!pass) throw new UsageError('the passphrase is empty', { subject: 'AIRGAP_KEY_PASSWORD_FILE', hint: 'use a non-empty passphrase' });
    if (Buffer.byteLength(pass) > MAX_PASSPHRASE) throw new UsageError(`the passphrase is longer than ${MAX_PASSPHRASE} bytes (minisign reads no more)`);
    registerSecret(pass);
    return pass;
  };
}

/** Read one line from the terminal with echo off (raw mode); Ctrl-C or Ctrl-D cancels (exit 2). */
function prompt(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolveLine, reject) => {
    let line = '';
    const done = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolveLine(line);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new UsageError('no passphrase given (cancelled)'));
        if (ch === '\u007f' || ch === '\b') line = [...line].slice(0, -1).join('');
        else if (ch >= ' ') line += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
