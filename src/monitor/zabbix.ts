import type { Logger, ZabbixSettings } from '@airgap/core';
import { type TrapperValue, sendTrapperValues } from './zabbix-sender.js';

/** The commands whose runs Zabbix sees, as they appear in item keys (docs/monitoring.md). */
export type MonitoredCommand = 'pack' | 'verify' | 'unpack' | 'ledger_verify';
export const MONITORED_COMMANDS: readonly MonitoredCommand[] = ['pack', 'verify', 'unpack', 'ledger_verify'];

/** What one run reports: its exit code and, where the command knows them, its totals. */
export interface RunOutcome {
  command: MonitoredCommand;
  exitCode: number;
  durationMs: number;
  bytes?: number;
  artifacts?: number;
  /** unpack: artifacts that failed to publish. */
  failed?: number;
  /** ledger verify: whether the chain held (absent when the ledger could not be read at all). */
  ledgerOk?: boolean;
}

/**
 * The trapper values for one run. `airgap.last_success[<cmd>]` is sent only on exit 0, so that its age
 * is the age of the last good run (the "no successful run" trigger watches it with nodata()).
 */
export function trapperValues(o: RunOutcome, now = new Date()): TrapperValue[] {
  const c = o.command;
  const values: TrapperValue[] = [
    { key: `airgap.${c}.status`, value: o.exitCode },
    { key: `airgap.${c}.duration`, value: (o.durationMs / 1000).toFixed(3) },
  ];
  if (o.bytes !== undefined) values.push({ key: `airgap.${c}.bytes`, value: o.bytes });
  if (o.artifacts !== undefined) values.push({ key: `airgap.${c}.artifacts`, value: o.artifacts });
  if (c === 'unpack' && o.failed !== undefined) values.push({ key: 'airgap.unpack.failed', value: o.failed });
  if (c === 'ledger_verify' && o.ledgerOk !== undefined) values.push({ key: 'airgap.ledger.ok', value: o.ledgerOk ? 1 : 0 });
  if (o.exitCode === 0) values.push({ key: `airgap.last_success[${c}]`, value: Math.floor(now.getTime() / 1000) });
  return values;
}

/**
 * Report a run to Zabbix. A monitoring failure is a warning that names the server, never a failed run:
 * the command's own exit code stands (docs/monitoring.md).
 */
export async function reportToZabbix(settings: ZabbixSettings, outcome: RunOutcome, log: Logger): Promise<void> {
  const values = trapperValues(outcome);
  try {
    const answer = await sendTrapperValues(settings, values);
    if (answer.failed > 0 || answer.processed !== values.length) {
      log.warn(
        `Zabbix server ${settings.server} took ${answer.processed} of ${values.length} values for host "${settings.host}" (${answer.failed} failed): ` +
          `is the host configured in Zabbix with the airgap template linked (airgap zabbix-template, docs/monitoring.md)? The run itself is not affected.`,
      );
    }
  } catch (e) {
    log.warn(`sending the run's values to Zabbix server ${settings.server} failed: ${(e as Error).message} (the run itself is not affected)`);
  }
}
