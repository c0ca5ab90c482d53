import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { MONITORED_COMMANDS, type MonitoredCommand } from './zabbix.js';

export const TEMPLATE_NAME = 'Airgap by Zabbix trapper';
export const VALUE_MAP = 'airgap exit code';
export const MAX_AGE_MACRO = '{$AIRGAP.MAX.AGE}';

/** The exit codes of every airgap command (docs/exit-codes.md), as Zabbix shows them. */
const EXIT_CODES: [string, string][] = [
  ['0', 'ok'],
  ['1', 'runtime failure (network, upstream, target)'],
  ['2', 'usage, manifest or config error'],
  ['3', 'integrity or trust failure'],
  ['4', 'partial'],
];

const LABEL: Record<MonitoredCommand, string> = { pack: 'pack', verify: 'verify', unpack: 'unpack', ledger_verify: 'ledger verify' };

/**
 * Zabbix 6.0 wants a UUIDv4 (32 hex digits) on every template, item, trigger and value map. They are
 * derived from the element's name so that the same airgap version always writes the same template and a
 * re-import updates the elements instead of duplicating them.
 */
function uuid(seed: string): string {
  const h = createHash('sha256').update(`airgap-zabbix:${seed}`).digest();
  h[6] = (h[6] & 0x0f) | 0x40;
  h[8] = (h[8] & 0x3f) | 0x80;
  return h.subarray(0, 16).toString('hex');
}

interface Trigger {
  uuid: string;
  expression: string;
  name: string;
  priority: 'INFO' | 'WARNING' | 'AVERAGE' | 'HIGH';
  description: string;
  tags: { tag: string; value: string }[];
}

const ref = (key: string) => `/${TEMPLATE_NAME}/${key}`;

function trigger(name: string, expression: string, priority: Trigger['priority'], description: string): Trigger {
  return { uuid: uuid(`trigger:${name}`), expression, name, priority, description, tags: [{ tag: 'scope', value: priority === 'HIGH' ? 'security' : 'availability' }] };
}

function item(key: string, name: string, fields: Record<string, unknown>, triggers: Trigger[] = []): Record<string, unknown> {
  return {
    uuid: uuid(`item:${key}`),
    name,
    type: 'TRAP',
    key,
    delay: '0',
    ...fields,
    tags: [{ tag: 'component', value: 'airgap' }],
    ...(triggers.length ? { triggers } : {}),
  };
}

function commandItems(c: MonitoredCommand): Record<string, unknown>[] {
  const label = LABEL[c];
  const status = `airgap.${c}.status`;
  const statusTriggers: Trigger[] =
    c === 'unpack'
      ? [
          trigger(
            `airgap unpack: last run failed (exit {ITEM.LASTVALUE})`,
            `last(${ref(status)})<>0 and last(${ref(status)})<>4`,
            'AVERAGE',
            'The last airgap unpack failed as a whole: nothing or not everything was imported. Read its cron log and the import ledger (docs/exit-codes.md).',
          ),
          trigger(
            `airgap unpack: partial import (some artifacts failed)`,
            `last(${ref(status)})=4`,
            'WARNING',
            'The last airgap unpack published some artifacts and failed others (exit 4). `airgap ledger show --since` names them; re-running the unpack sends only what is missing.',
          ),
        ]
      : [
          trigger(
            `airgap ${label}: last run failed (exit {ITEM.LASTVALUE})`,
            `last(${ref(status)})<>0`,
            c === 'verify' ? 'HIGH' : 'AVERAGE',
            `The last airgap ${label} exited non-zero; the value map names the class of failure (docs/exit-codes.md).`,
          ),
        ];
  const items = [
    item(status, `airgap ${label}: exit status`, { valuemap: { name: VALUE_MAP }, description: `Exit code of the last airgap ${label} run.` }, statusTriggers),
    item(`airgap.${c}.duration`, `airgap ${label}: duration`, { value_type: 'FLOAT', units: 's', description: `Wall time of the last airgap ${label} run.` }),
  ];
  if (c !== 'ledger_verify') {
    items.push(
      item(`airgap.${c}.bytes`, `airgap ${label}: bytes`, { units: 'B', description: c === 'unpack' ? 'Bytes pushed to the target by the last unpack.' : `Bytes in the bundle of the last ${label}.` }),
      item(`airgap.${c}.artifacts`, `airgap ${label}: artifacts`, { description: `Artifacts handled by the last ${label}.` }),
    );
  }
  const ageTriggers =
    c === 'pack' || c === 'unpack'
      ? [
          trigger(
            `airgap ${label}: no successful run for ${MAX_AGE_MACRO}`,
            `nodata(${ref(`airgap.last_success[${c}]`)},${MAX_AGE_MACRO})=1`,
            'AVERAGE',
            `No airgap ${label} has succeeded within ${MAX_AGE_MACRO} (a macro of this template, 26h by default): the cron job stopped, or keeps failing.`,
          ),
        ]
      : [];
  items.push(item(`airgap.last_success[${c}]`, `airgap ${label}: last success`, { units: 'unixtime', description: `Time of the last airgap ${label} that exited 0.` }, ageTriggers));
  return items;
}

/**
 * The Zabbix 6.0 template (YAML export format) for the trapper items airgap sends (docs/monitoring.md):
 * items per command, a value map for the exit codes, and the triggers: last run failed, partial unpack,
 * no successful pack/unpack for {$AIRGAP.MAX.AGE}, ledger chain broken.
 */
export function zabbixTemplate(): string {
  const items = MONITORED_COMMANDS.flatMap(commandItems);
  items.push(
    item('airgap.unpack.failed', 'airgap unpack: failed artifacts', { description: 'Artifacts that failed to publish in the last unpack.' }),
    item('airgap.ledger.ok', 'airgap ledger: chain intact', { valuemap: { name: 'airgap ledger state' }, description: '1 when the last airgap ledger verify found the hash chain intact, 0 when it was broken.' }, [
      trigger(
        'airgap ledger: import ledger chain broken',
        `last(${ref('airgap.ledger.ok')})=0`,
        'HIGH',
        'airgap ledger verify found the import ledger edited, cut short or torn. Keep the file for the audit; compare it with receipts and backups (docs/ledger.md).',
      ),
    ]),
  );
  const doc = {
    zabbix_export: {
      version: '6.0',
      groups: [{ uuid: uuid('group:Templates/Applications'), name: 'Templates/Applications' }],
      templates: [
        {
          uuid: uuid(`template:${TEMPLATE_NAME}`),
          template: TEMPLATE_NAME,
          name: TEMPLATE_NAME,
          description: 'Outcome of airgap pack, verify, unpack and ledger verify runs, sent as trapper values after each run (notify.zabbix in the airgap config). Generated by `airgap zabbix-template`.',
          groups: [{ name: 'Templates/Applications' }],
          items,
          macros: [{ macro: MAX_AGE_MACRO, value: '26h', description: 'How long without a successful pack or unpack before the age triggers fire.' }],
          valuemaps: [
            { uuid: uuid(`valuemap:${VALUE_MAP}`), name: VALUE_MAP, mappings: EXIT_CODES.map(([value, newvalue]) => ({ value, newvalue })) },
            { uuid: uuid('valuemap:airgap ledger state'), name: 'airgap ledger state', mappings: [{ value: '0', newvalue: 'broken' }, { value: '1', newvalue: 'intact' }] },
          ],
        },
      ],
    },
  };
  return stringify(doc, { lineWidth: 0 });
}
