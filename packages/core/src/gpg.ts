import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { TargetError, UsageError } from './errors.js';

/**
 * The one wrapper around GnuPG (docs/security.md, "PGP signatures"): every gpg and gpgv run of airgap goes
 * through here, in a private, empty home that is removed afterwards, so no keyring of the operator adds
 * trust or is changed. apt (InRelease, Release.gpg), yum (repomd.xml.asc) and helm (.prov) use it.
 */

/** A private, empty temporary folder (mode 0700, as gpg wants its home); its gpg-agent is stopped and it is removed after `fn`. */
export async function withGpgHome<T>(prefix: string, fn: (home: string) => Promise<T>): Promise<T> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await fn(home);
  } finally {
    // Importing a secret key starts a gpg-agent for the home; it outlives gpg and holds an inotify
    // instance on the folder, so stop it before the folder goes.
    await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

interface Run { exitCode: number; stdout: Buffer; stderr: string }

/** Run a GnuPG tool with `input` on stdin (or none), collecting stdout as bytes; never throws for an exit code. */
function run(cmd: string, args: string[], input?: string | Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ENOENT' ? reject(new UsageError(`${cmd} is not installed`, { subject: cmd, hint: 'install GnuPG (Debian: gnupg and gpgv)' })) : reject(e));
    child.on('close', (code) => resolve({ exitCode: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

function lastLine(s: unknown): string {
  return String(s ?? '').trim().split('\n').filter(Boolean).pop() ?? '';
}

/** True when the file (or bytes) is ASCII-armored OpenPGP data rather than a binary keyring. */
export async function isArmored(input: string | Buffer): Promise<boolean> {
  let head: Buffer;
  if (typeof input === 'string') {
    const fh = await open(input, 'r');
    try {
      head = Buffer.alloc(200);
      head = head.subarray(0, (await fh.read(head, 0, 200, 0)).bytesRead);
    } finally {
      await fh.close();
    }
  } else {
    head = input.subarray(0, 200);
  }
  return head.toString('latin1').trimStart().startsWith('-----BEGIN PGP');
}

/**
 * A keyring gpgv can read, written to `dest`: gpgv reads only binary keyrings, while apt also takes `.asc`
 * files and inline keys and yum publishes armored `RPM-GPG-KEY-…` files, so armored input is converted
 * with `gpg --dearmor`. Returns false when the input is not OpenPGP data.
 */
export async function writeKeyring(input: string | Buffer, dest: string, home: string): Promise<{ ok: true } | { ok: false; why: string }> {
  if (!(await isArmored(input))) {
    await writeFile(dest, typeof input === 'string' ? await readFile(input) : input);
    return { ok: true };
  }
  const args = ['--batch', '--no-options', '--homedir', home, '--yes', '--output', dest, '--dearmor'];
  const r = typeof input === 'string'
    ? await run('gpg', [...args, input])
    : await run('gpg', args, input);
  return r.exitCode === 0 ? { ok: true } : { ok: false, why: lastLine(r.stderr) };
}

export interface GpgvResult {
  ok: boolean;
  /** Fingerprint of the key that made a good signature (VALIDSIG). */
  fingerprint?: string;
  /** The signed text, for a clearsigned file verified with `output`: as gpgv wrote it, never a parse of the armor. */
  text?: string;
  /** Why it failed, in an operator's words (from gpgv's status keywords, doc/DETAILS of GnuPG). */
  why: string;
  /** gpgv's own messages, for diagnosis. */
  stderr: string;
}

function statusWords(keyword: string, keyId: string): string {
  switch (keyword) {
    case 'NO_PUBKEY':
    case 'ERRSIG':
      return `signed by key ${keyId || '(unknown)'}, which the keyring does not hold (${keyword})`;
    case 'BADSIG':
      return `bad signature by key ${keyId}: the file was changed after it was signed (BADSIG)`;
    case 'EXPKEYSIG':
      return `the signing key ${keyId} has expired (EXPKEYSIG)`;
    case 'REVKEYSIG':
      return `the signing key ${keyId} was revoked (REVKEYSIG)`;
    default:
      return `the signature has expired (${keyword})`;
  }
}

/**
 * Check a signature with gpgv against exactly `keyrings` (binary), in `home` (empty, private). For a
 * clearsigned file (no `detached`) the authenticated body is read from gpgv's own `--output`. A signature
 * that gpgv accepts but marks expired or revoked is refused too, as apt does.
 */
export async function gpgv(opts: { signed: string; detached?: string; keyrings: string[]; home: string }): Promise<GpgvResult> {
  const out = join(opts.home, `verified-${Math.random().toString(16).slice(2)}`);
  const args = ['--homedir', opts.home, '--status-fd', '1'];
  for (const k of opts.keyrings) args.push('--keyring', k);
  if (opts.detached) args.push(opts.detached, opts.signed);
  else args.push('--output', out, opts.signed);
  const r = await run('gpgv', args);
  const status = String(r.stdout);
  const stderr = r.stderr;
  const bad = /^\[GNUPG:\] (BADSIG|ERRSIG|EXPKEYSIG|REVKEYSIG|EXPSIG|NO_PUBKEY)\b ?(\S*)/m.exec(status);
  const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]{40,64})/m.exec(status);
  if (r.exitCode !== 0 || bad || !valid || !/^\[GNUPG:\] GOODSIG /m.test(status)) {
    return { ok: false, why: bad ? statusWords(bad[1], bad[2]) : lastLine(stderr) || `gpgv exit ${r.exitCode}`, stderr };
  }
  const text = opts.detached ? undefined : await readFile(out, 'utf8');
  await rm(out, { force: true });
  return { ok: true, fingerprint: valid[1], text, why: '', stderr };
}

export interface SignJob {
  file: string;
  /** `clearsign`: an inline-signed copy (InRelease); `detach`: an armored detached signature (Release.gpg, repomd.xml.asc). */
  mode: 'clearsign' | 'detach';
}

export interface Signed {
  fingerprint: string;
  /** One armored text per job, in order. */
  signatures: string[];
  /** The public key, binary (for apt's `signed-by=`) and armored (`.asc`, yum's `repomd.xml.key`). */
  publicKey: Buffer;
  publicKeyArmored: string;
}

/**
 * Sign files with a secret key file (`targets.<t>.<kind>.gpgKey`, optional passphrase), then check every
 * signature with gpgv against the public key exported alongside it, so that what is published is known to
 * verify for clients (an empty or unusable export would leave them with NO_PUBKEY). `label` names the key
 * in messages (`apt gpgKey`, `yum gpgKey`).
 */
export async function signWithKey(keyFile: string, passphrase: string | undefined, jobs: SignJob[], label: string, digestAlgo = 'SHA512'): Promise<Signed> {
  return withGpgHome('airgap-gpg-', async (home) => {
    const pass = passphrase === undefined ? [] : ['--pinentry-mode', 'loopback', '--passphrase-fd', '0'];
    const gpg = (args: string[], input?: string) =>
      run('gpg', ['--batch', '--no-options', '--no-tty', '--homedir', home, ...args], input);
    const imp = await gpg([...pass, '--import', keyFile], passphrase);
    if (imp.exitCode !== 0) throw new UsageError(`${label} ${keyFile} cannot be imported: ${lastLine(imp.stderr)}`, { subject: keyFile, hint: 'export it with gpg --export-secret-keys --armor KEYID > FILE' });
    const list = await gpg(['--with-colons', '--list-secret-keys']);
    const fpr = /^sec:[^\n]*\nfpr:(?:[^:]*:){8}([0-9A-F]+):/m.exec(String(list.stdout))?.[1];
    if (!fpr) throw new UsageError(`${label} ${keyFile} holds no secret key`, { subject: keyFile, hint: 'export the secret key (gpg --export-secret-keys), not only the public one' });
    const signatures: string[] = [];
    for (const job of jobs) {
      const mode = job.mode === 'clearsign' ? ['--clearsign'] : ['--armor', '--detach-sign'];
      const r = await gpg(['--pinentry-mode', 'loopback', ...(passphrase === undefined ? [] : ['--passphrase-fd', '0']), '--local-user', fpr, '--digest-algo', digestAlgo, ...mode, '--output', '-', job.file], passphrase);
      if (r.exitCode !== 0) throw new UsageError(`signing ${job.file} with ${label} ${keyFile} failed: ${lastLine(r.stderr)}`, { subject: keyFile, hint: 'check the key and passphraseEnv' });
      signatures.push(String(r.stdout));
    }
    const exportKey = async (armor: boolean): Promise<Buffer> => {
      const r = await run('gpg', ['--batch', '--no-options', '--homedir', home, ...(armor ? ['--armor'] : []), '--export', fpr]);
      const out = r.stdout;
      // `gpg --export` exits 0 with no output when it finds nothing.
      if (r.exitCode !== 0 || out.length === 0) throw new TargetError(`exporting the public key ${fpr} of ${label} ${keyFile} gave nothing: ${lastLine(r.stderr)}`, { subject: keyFile, hint: 'check the key file with gpg --show-keys' });
      return out;
    };
    const publicKey = await exportKey(false);
    const publicKeyArmored = (await exportKey(true)).toString('utf8');
    // Verify what we are about to publish, as a client will.
    const check = join(home, 'check');
    await mkdir(check, { mode: 0o700 });
    const ring = join(check, 'exported.gpg');
    await writeFile(ring, publicKey);
    for (const [i, job] of jobs.entries()) {
      const sig = join(check, `sig-${i}.asc`);
      await writeFile(sig, signatures[i]);
      const v = await gpgv(job.mode === 'clearsign' ? { signed: sig, keyrings: [ring], home: check } : { signed: job.file, detached: sig, keyrings: [ring], home: check });
      if (!v.ok) {
        // What the export held, for diagnosis (packet types and key ids only; no secret is ever exported here).
        const packets = (await run('gpg', ['--batch', '--no-options', '--homedir', check, '--list-packets', ring])).stdout.toString('utf8')
          .split('\n').filter((l) => l.startsWith(':')).join(' ').slice(0, 600);
        throw new TargetError(`the signature of ${job.file} made with ${label} ${keyFile} does not verify with the key's own exported public key ${fpr}: ${v.why}; gpgv said: ${v.stderr.trim().replace(/\n/g, ' | ')}; the export (${publicKey.length} bytes) held: ${packets}`, {
          subject: keyFile,
          hint: 'nothing was published with this signature; check the system clock (a key created "in the future" is unusable) and the key with gpg --show-keys',
        });
      }
    }
    return { fingerprint: fpr, signatures, publicKey, publicKeyArmored };
  });
}
