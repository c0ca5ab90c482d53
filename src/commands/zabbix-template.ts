import { Flags } from '@oclif/core';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AirgapCommand } from '../base-command.js';
import { TEMPLATE_NAME, zabbixTemplate } from '../monitor/zabbix-template.js';

export default class ZabbixTemplate extends AirgapCommand {
  static override summary = 'Write the Zabbix 6.0 template for the values airgap sends after each run.';
  static override description = `Prints (or writes to --out) a Zabbix 6.0 template in the YAML export format: trapper items for pack, verify, unpack and ledger verify (exit status, duration, bytes, artifacts, time of the last success, failed artifacts, ledger state), a value map for the exit codes, and the triggers: last run failed, partial unpack, no successful pack or unpack for {$AIRGAP.MAX.AGE} (26h by default), import ledger chain broken.

Import it once in Zabbix (Data collection → Templates → Import), link it to the host named in notify.zabbix.host of the airgap config, and every run reports. See docs/monitoring.md.

Exit codes: one table for every command, docs/exit-codes.md (0 ok, 1 runtime, 2 usage or config, 3 integrity or trust).`;
  static override examples = [
    '<%= config.bin %> zabbix-template --out airgap-zabbix-template.yaml',
    '<%= config.bin %> zabbix-template > airgap.yaml',
  ];
  static override flags = {
    out: Flags.string({ description: 'write the template to this file instead of stdout' }),
  };

  async run(): Promise<{ template: string; file?: string }> {
    const { flags } = await this.parse(ZabbixTemplate);
    this.makeReporter(this.jsonEnabled());
    const yaml = zabbixTemplate();
    if (flags.out) {
      const file = resolve(flags.out);
      await writeFile(file, yaml);
      this.logToStderr(`wrote the Zabbix template "${TEMPLATE_NAME}" to ${file}`);
      return { template: TEMPLATE_NAME, file };
    }
    if (!this.jsonEnabled()) process.stdout.write(yaml);
    return { template: TEMPLATE_NAME };
  }
}
