import { Command, Flags, type Interfaces } from '@oclif/core';
import { type AirgapConfig, AirgapError, HttpClient, isAirgapError, loadConfig, redact } from '@airgap/core';
import { ecosystems } from './ecosystems.js';
import { Reporter, reportMode } from './report.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof AirgapCommand)['baseFlags'] & T['flags']>;

/**
 * Every airgap command: `--json` (one JSON document on stdout, no progress, same exit codes) and
 * `--config FILE` (SPEC §2). The one place where errors become messages and exit codes (STYLE: errors).
 */
export abstract class AirgapCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    config: Flags.string({ description: 'configuration file (default: .airgaprc* / airgap.config.* found from the current folder up)', helpGroup: 'GLOBAL' }),
  };

  protected reporter!: Reporter;
  /** Secret values read from the environment during this run; scrubbed from every message. */
  protected secrets: string[] = [];

  protected async loadAirgapConfig(configFile: string | undefined): Promise<AirgapConfig> {
    return loadConfig({ configFile, cwd: process.cwd(), env: process.env, registry: ecosystems });
  }

  protected makeReporter(json: boolean): Reporter {
    this.reporter = new Reporter(reportMode(json));
    return this.reporter;
  }

  protected httpClient(config: AirgapConfig): HttpClient {
    return new HttpClient(config.http ?? {}, this.reporter);
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    // oclif's own parse errors (unknown flag, missing argument) are usage errors: exit 2.
    if (!isAirgapError(err)) {
      if (err.oclif?.exit !== undefined && err.oclif.exit === 0) throw err;
      if (err.oclif || /flag|argument|Unexpected|Expected/i.test(err.message)) {
        return this.fail(2, 'UsageError', err.message, undefined, 'see --help');
      }
      if (/airgap/.test(process.env.DEBUG ?? '')) process.stderr.write(String(err.stack) + '\n');
      return this.fail(1, 'InternalError', err.message || String(err), undefined, 'this is a bug in airgap; run with DEBUG=airgap* and report it');
    }
    const e = err as AirgapError;
    if (/airgap/.test(process.env.DEBUG ?? '')) process.stderr.write(String(e.stack) + (e.cause ? `\ncaused by: ${String((e.cause as Error).stack ?? e.cause)}` : '') + '\n');
    return this.fail(e.exitCode, e.name, e.message, e.subject, e.hint);
  }

  private fail(code: number, kind: string, message: string, subject?: string, hint?: string): void {
    const clean = (s?: string) => (s === undefined ? undefined : redact(s, this.secrets));
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify({ error: { kind, exitCode: code, message: clean(message), subject: clean(subject), hint: clean(hint) } }, null, 2) + '\n');
    } else {
      // Cron mode (no terminal): every stderr line carries a timestamp, the error too (docs/cron.md).
      const stamp = this.reporter?.mode === 'plain' ? `${new Date().toISOString()} ` : '';
      const text = `error: ${clean(message)}${hint ? `\n  hint: ${clean(hint)}` : ''}`;
      process.stderr.write(text.split('\n').map((l) => stamp + l).join('\n') + '\n');
    }
    process.exitCode = code;
  }
}
