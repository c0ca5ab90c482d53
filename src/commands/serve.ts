import { Args, Flags } from '@oclif/core';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TargetError, UsageError } from '@airgap/core';
import { type AccessRecord, parseListen, startServer } from '@airgap/serve';
import { AirgapCommand } from '../base-command.js';

function plainLine(r: AccessRecord): string {
  return `${r.time} ${r.remote} "${r.method} ${r.path}" ${r.status} ${r.bytes} ${r.ms}ms "${r.userAgent.replace(/"/g, "'")}"${r.aborted ? ' aborted' : ''}`;
}

export default class Serve extends AirgapCommand {
  static override summary = 'Serve a dir: mirror read-only over HTTP(S): OCI registry API, Helm, APT, YUM, PyPI, npm, files.';
  static override description = `For the first days inside, before Nexus runs: one read-only server over the folder that "unpack --to dir:" wrote. Serves /v2/ (the OCI pull API; containerd's mirror requests /v2/<repo>/...?ns=<upstream host> resolve to the upstream name), /helm/, /apt/, /yum/, /pypi/simple/ (PEP 503, PEP 691 JSON on Accept), /npm/ (packuments with tarball URLs pointing at this server), /files/ and /healthz. Everything else is 404; any method but GET and HEAD is 405 and writes nothing. Paths never leave MIRROR (.., %2e%2e, encoded slashes and symlinks pointing out are refused).

Runs in the foreground and prints one access line per request on stdout (JSON lines with --json). SIGTERM or SIGINT stops it: no new connections, requests in flight get 10 s to finish. Pair it with "airgap client-config --mirror MIRROR --server URL" for the client settings. See docs/serve.md.

Exit codes (docs/exit-codes.md): 0 stopped by a signal, 1 cannot listen, 2 usage (no such mirror, bad --listen, one TLS file without the other).`;
  static override examples = [
    '<%= config.bin %> serve /srv/mirror',
    '<%= config.bin %> serve /srv/mirror --listen 0.0.0.0:8443 --tls-cert /etc/airgap/tls.crt --tls-key /etc/airgap/tls.key --base-url https://mirror.corp.internal:8443/',
    '<%= config.bin %> serve /srv/mirror --listen 127.0.0.1:0 --json   # a free port; JSON access lines',
  ];
  static override args = { mirror: Args.string({ description: 'root of a dir: mirror (what unpack --to dir:PATH wrote)', required: true }) };
  static override flags = {
    listen: Flags.string({ description: 'HOST:PORT to listen on (port 0: a free port, printed at start)', default: '127.0.0.1:8080' }),
    'tls-cert': Flags.string({ description: 'serve HTTPS with this PEM certificate (chain)', dependsOn: ['tls-key'] }),
    'tls-key': Flags.string({ description: 'PEM private key of --tls-cert', dependsOn: ['tls-cert'] }),
    'base-url': Flags.string({ description: 'the URL clients reach this server at, for npm tarball URLs (default: the Host each request names)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Serve);
    const json = this.jsonEnabled();
    this.makeReporter(json);
    const mirror = resolve(args.mirror);
    const st = await stat(mirror).catch(() => undefined);
    if (!st?.isDirectory()) throw new UsageError(`mirror ${mirror} is not a folder`, { subject: mirror, hint: 'give the path that "airgap unpack --to dir:PATH" wrote' });
    const { host, port } = parseListen(flags.listen);
    if (flags['base-url'] && !/^https?:\/\/[^/]+/.test(flags['base-url'])) throw new UsageError(`--base-url ${flags['base-url']} is not an http(s) URL`, { subject: flags['base-url'] });
    const readPem = async (f: string) => readFile(resolve(f)).catch((e: Error) => {
      throw new UsageError(`cannot read ${f}: ${e.message}`, { subject: f });
    });
    const tls = flags['tls-cert'] && flags['tls-key'] ? { cert: await readPem(flags['tls-cert']), key: await readPem(flags['tls-key']) } : undefined;
    const out = (line: string) => process.stdout.write(line + '\n');
    const server = await startServer({
      mirror, host, port, tls, baseUrl: flags['base-url'],
      access: (r) => out(json ? JSON.stringify(r) : plainLine(r)),
      error: (e, r) => this.reporter.warn(`${r.method} ${r.path}: ${e.message}`),
    }).catch((e: NodeJS.ErrnoException) => {
      throw new TargetError(`cannot listen on ${flags.listen}: ${e.message}`, { subject: flags.listen, hint: e.code === 'EADDRINUSE' ? 'another server uses that port: pick another with --listen' : undefined });
    });
    if (json) out(JSON.stringify({ time: new Date().toISOString(), event: 'listening', url: server.url, mirror }));
    else process.stderr.write(`airgap serve: ${mirror} listening on ${server.url}\n`);
    const signal = await new Promise<NodeJS.Signals>((done) => {
      process.once('SIGTERM', () => done('SIGTERM'));
      process.once('SIGINT', () => done('SIGINT'));
    });
    await server.close();
    if (json) out(JSON.stringify({ time: new Date().toISOString(), event: 'stopped', signal }));
    else process.stderr.write(`airgap serve: stopped (${signal})\n`);
  }
}
