import { resolve } from 'node:path';
import { Command, Flags, type Interfaces } from '@oclif/core';
import { type AirgapConfig, AirgapError, HttpClient, isAirgapError, loadConfig, redact } from '@airgap/core';
import { ecosystems } from './ecosystems.js';
import type { MonitoredCommand, RunOutcome } from './monitor/zabbix.js';
import { Reporter, reportMode } from './report.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof AirgapCommand)['baseFlags'] & T['flags']>;

/**
 * Every airgap command: `--json` (one JSON document on stdout, no progress, same exit codes) and
 * `--config FILE` (docs/exit-codes.md). The one place where errors become messages and exit codes (docs/design.md: errors).
 */
export abstract class AirgapCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    config: Flags.string({ description: 'configuration file (default: .airgaprc* / airgap.config.* found from the current folder up)', helpGroup: 'GLOBAL' }),
  };

  protected reporter!: Reporter;
  /** Secret values read from the environment during this run; scrubbed from every message. */
  protected secrets: string[] = [];
  /**
   * Set by the commands whose runs the site's monitoring sees (pack, verify, unpack, ledger verify):
   * after the run, ok or not, its outcome goes to `notify.zabbix` (docs/monitoring.md). `skip` for dry runs.
   */
  protected monitored?: { command: MonitoredCommand; outcome: Pick<RunOutcome, 'bytes' | 'artifacts' | 'failed' | 'ledgerOk'>; skip?: boolean };
  private loadedConfig?: AirgapConfig;
  private readonly startedAt = Date.now();

  protected async loadAirgapConfig(configFile: string | undefined): Promise<AirgapConfig> {
    this.loadedConfig = await loadConfig({ configFile, cwd: process.cwd(), env: process.env, registry: ecosystems });
    return this.loadedConfig;
  }

  /**
   * After every run of a monitored command (oclif calls this after run() and catch()): the exit code is
   * final by now. Loaded only when configured, so start-up stays as it is for everyone else.
   */
  protected override async finally(err: Error | undefined): Promise<void> {
    await super.finally(err);
    const zabbix = this.loadedConfig?.notify?.zabbix;
    if (!this.monitored || this.monitored.skip || !zabbix) return;
    const { reportToZabbix } = await import('./monitor/zabbix.js');
    const exitCode = Number(process.exitCode ?? (err ? 1 : 0));
    await reportToZabbix(zabbix, { command: this.monitored.command, exitCode, durationMs: Date.now() - this.startedAt, ...this.monitored.outcome }, this.reporter ?? new Reporter(reportMode(false)));
  }

  /**
   * The import ledger a command reads or appends to: the file named on the command line, else `ledger:` in
   * the config, else ./airgap-ledger.jsonl (docs/ledger.md, docs/config.md). Loads the config.
   */
  protected async ledgerFile(given: string | undefined, configFile: string | undefined): Promise<string> {
    const config = this.loadedConfig ?? (await this.loadAirgapConfig(configFile));
    return resolve(given ?? config.ledger ?? 'airgap-ledger.jsonl');
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
