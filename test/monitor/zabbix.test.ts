/**
 * Issue "Zabbix sees every run" (docs/monitoring.md), against a real Zabbix 6.0 server on PostgreSQL
 * (test/harness/zabbix.ts): the generated template imports through the real API, a host linked to it
 * receives the trapper values airgap sends after pack, verify, unpack and ledger verify (read back with
 * history.get), the triggers go into problem state and resolve (problem.get), TLS with a PSK works, and
 * a server that is down or does not know the host only warns: the run's exit code stands.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirgap } from '../harness/index.js';
import { freeLowPort } from '../harness/ports.js';
import { type ZabbixServer, startZabbix } from '../harness/zabbix.js';
import { type Fixture, fixture } from '../ledger/fixtures.js';

const HOST = 'airgap-inside';
const PSK_HOST = 'airgap-psk';
const PSK_IDENTITY = 'airgap-psk-01';
const PSK = randomBytes(32).toString('hex');

let zbx: ZabbixServer;
let f: Fixture;
let bundle: string;
let manifest: string;
let template: string;
let templateId: string;
let hostId: string;
let pskHostId: string;

const until = async <T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${(await zbx.log()).split('\n').slice(-15).join('\n')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
};

async function itemId(host: string, key: string): Promise<{ itemid: string; value_type: string }> {
  const items = await zbx.api<{ itemid: string; value_type: string }[]>('item.get', { hostids: [host], filter: { key_: key }, output: ['itemid', 'value_type'] });
  expect(items, key).toHaveLength(1);
  return items[0];
}

async function values(host: string, key: string): Promise<string[]> {
  const it = await itemId(host, key);
  const rows = await zbx.api<{ value: string; clock: string; ns: string }[]>('history.get', { history: Number(it.value_type), itemids: [it.itemid], sortfield: 'clock', sortorder: 'DESC', output: 'extend', limit: 50 });
  // history.get sorts by whole seconds only; two runs can fall in one second, so order by ns too.
  rows.sort((a, b) => Number(b.clock) - Number(a.clock) || Number(b.ns) - Number(a.ns));
  return rows.map((r) => r.value);
}

/** The values of one item, newest first, once at least `count` have reached the database. */
async function history(host: string, key: string, count: number): Promise<string[]> {
  return until(`${count} values of ${key}`, 30_000, async () => {
    const v = await values(host, key);
    return v.length >= count ? v : undefined;
  });
}

async function problems(host: string): Promise<string[]> {
  const rows = await zbx.api<{ name: string }[]>('problem.get', { hostids: [host], output: ['name'] });
  return rows.map((r) => r.name);
}

async function configFile(name: string, zabbix: string): Promise<string> {
  const p = join(f.work, `zabbix-${name}`);
  await writeFile(p, `notify:\n  zabbix:\n${zabbix}\n`);
  return p;
}

const unpackTo = (mirror: string, ledger: string, cfg: string) => runAirgap([...f.unpackArgs(bundle, `dir:${join(f.work, mirror)}`, join(f.work, ledger)), '--config', cfg], { cwd: f.work });

beforeAll(async () => {
  zbx = await startZabbix();
  f = await fixture();
  const names = await f.files('z', 3);
  manifest = await f.manifest('z.yaml', 'watched', names.map((url) => ({ url, path: 'z/' })));
  bundle = (await f.pack(manifest, 'out')).bundle;
}, 600_000);

afterAll(async () => {
  await zbx?.stop();
});

describe('airgap zabbix-template', () => {
  it('imports into the real Zabbix 6.0 server with every item, trigger and value map', async () => {
    const out = join(f.work, 'airgap-template.yaml');
    const r = await runAirgap(['zabbix-template', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    template = await readFile(out, 'utf8');
    const stdout = await runAirgap(['zabbix-template']);
    expect(stdout.stdout.trimEnd()).toBe(template.trimEnd()); // execa drops the final newline

    const rules = {
      groups: { createMissing: true },
      templates: { createMissing: true, updateExisting: true },
      items: { createMissing: true, updateExisting: true },
      triggers: { createMissing: true, updateExisting: true },
      valueMaps: { createMissing: true, updateExisting: true },
    };
    expect(await zbx.api('configuration.import', { format: 'yaml', source: template, rules })).toBe(true);
    // Importing again updates in place (the UUIDs are stable): still one template, nothing doubled.
    expect(await zbx.api('configuration.import', { format: 'yaml', source: template, rules })).toBe(true);

    const t = await zbx.api<{ templateid: string }[]>('template.get', { filter: { host: 'Airgap by Zabbix trapper' }, output: ['templateid'] });
    expect(t).toHaveLength(1);
    templateId = t[0].templateid;
    const items = await zbx.api<{ key_: string; type: string }[]>('item.get', { templateids: [templateId], output: ['key_', 'type'] });
    const keys = items.map((i) => i.key_).sort();
    for (const c of ['pack', 'verify', 'unpack']) {
      for (const k of ['status', 'duration', 'bytes', 'artifacts']) expect(keys).toContain(`airgap.${c}.${k}`);
      expect(keys).toContain(`airgap.last_success[${c}]`);
    }
    expect(keys).toEqual(expect.arrayContaining(['airgap.ledger_verify.status', 'airgap.ledger_verify.duration', 'airgap.last_success[ledger_verify]', 'airgap.unpack.failed', 'airgap.ledger.ok']));
    expect(items.every((i) => i.type === '2')).toBe(true); // 2 = Zabbix trapper

    const triggers = await zbx.api<{ description: string; priority: string; expression: string }[]>('trigger.get', { templateids: [templateId], output: ['description', 'priority', 'expression'], expandExpression: true });
    const names = triggers.map((t) => t.description);
    expect(names).toEqual(
      expect.arrayContaining([
        'airgap unpack: last run failed (exit {ITEM.LASTVALUE})',
        'airgap unpack: partial import (some artifacts failed)',
        'airgap unpack: no successful run for {$AIRGAP.MAX.AGE}',
        'airgap pack: no successful run for {$AIRGAP.MAX.AGE}',
        'airgap ledger: import ledger chain broken',
      ]),
    );
    expect(triggers.find((t) => t.description === 'airgap ledger: import ledger chain broken')!.priority).toBe('4'); // high
    const [withMacros] = await zbx.api<{ macros: { macro: string; value: string }[] }[]>('template.get', { templateids: [templateId], selectMacros: ['macro', 'value'], output: ['templateid'] });
    expect(withMacros.macros).toEqual([expect.objectContaining({ macro: '{$AIRGAP.MAX.AGE}', value: '26h' })]);
    const maps = await zbx.api<{ name: string; mappings: { value: string; newvalue: string }[] }[]>('valuemap.get', { hostids: [templateId], output: 'extend', selectMappings: 'extend' });
    const exit = maps.find((m) => m.name === 'airgap exit code')!;
    expect(exit.mappings.map((m) => m.value)).toEqual(['0', '1', '2', '3', '4']);

    // The hosts the runs report for: one plain, one that accepts only TLS with a PSK.
    const group = await zbx.api<{ groupids: string[] }>('hostgroup.create', { name: 'airgap tests' });
    const make = async (host: string, tls: Record<string, unknown>) =>
      (await zbx.api<{ hostids: string[] }>('host.create', { host, groups: [{ groupid: group.groupids[0] }], templates: [{ templateid: templateId }], ...tls })).hostids[0];
    hostId = await make(HOST, {});
    pskHostId = await make(PSK_HOST, { tls_accept: 2, tls_connect: 1, tls_psk_identity: PSK_IDENTITY, tls_psk: PSK });
    // The server reads new hosts into its configuration cache every second (CacheUpdateFrequency=1):
    // wait until it takes a value for the host, so that the runs below are not early.
    const { sendTrapperValues } = await import('../../dist/src/monitor/zabbix-sender.js');
    await until('the server to know the new host', 60_000, async () => {
      const a = await sendTrapperValues({ server: `127.0.0.1:${zbx.port}`, host: HOST }, [{ key: 'airgap.ledger.ok', value: 1 }]);
      return a.processed === 1 ? true : undefined;
    });
  });
});

describe('trapper values after each run', () => {
  it('a good unpack, a failing one and the next good one: history, and the trigger fires and resolves', async () => {
    const cfg = await configFile('z.yaml', `    server: "127.0.0.1:${zbx.port}"\n    host: ${HOST}`);
    const ok = await unpackTo('mirror', 'ledger.jsonl', cfg);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/zabbix/i);
    expect(await history(hostId, 'airgap.unpack.status', 1)).toEqual(['0']);
    expect(await history(hostId, 'airgap.unpack.artifacts', 1)).toEqual(['3']);
    expect(await history(hostId, 'airgap.unpack.bytes', 1)).toEqual([String(3 * 2048)]);
    expect(await history(hostId, 'airgap.unpack.failed', 1)).toEqual(['0']);
    const [success] = await history(hostId, 'airgap.last_success[unpack]', 1);
    expect(Math.abs(Number(success) - Date.now() / 1000)).toBeLessThan(120);
    expect(Number((await history(hostId, 'airgap.unpack.duration', 1))[0])).toBeGreaterThan(0);
    const failedRun = (names: string[]) => names.find((n) => n.startsWith('airgap unpack: last run failed'));
    expect(failedRun(await problems(hostId))).toBeUndefined();

    // Signed by a key that is not trusted: exit 3, reported as such.
    await runAirgap(['keygen', '--out-dir', f.keys, '--name', 'stranger']);
    const bad = await runAirgap(['unpack', bundle, '--to', `dir:${join(f.work, 'mirror')}`, '--pub', join(f.keys, 'stranger.pub'), '--ledger', join(f.work, 'ledger.jsonl'), '--config', cfg], { cwd: f.work });
    expect(bad.exitCode).toBe(3);
    expect(await history(hostId, 'airgap.unpack.status', 2)).toEqual(['3', '0']);
    // No new success time for the failed run.
    expect(await history(hostId, 'airgap.last_success[unpack]', 1)).toEqual([success]);
    const problem = await until('the failed-run problem', 30_000, async () => failedRun(await problems(hostId)));
    expect(problem).toMatch(/integrity or trust failure/);

    const again = await unpackTo('mirror', 'ledger.jsonl', cfg);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await history(hostId, 'airgap.unpack.status', 3)).toEqual(['0', '3', '0']);
    await until('the problem to resolve', 30_000, async () => (failedRun(await problems(hostId)) ? undefined : true));
  });

  it('pack, verify and ledger verify report too; a broken ledger fires the high trigger', async () => {
    const cfg = await configFile('z-all.yaml', `    server: "127.0.0.1:${zbx.port}"\n    host: ${HOST}`);
    const p = await runAirgap(['pack', manifest, '--out', join(f.work, 'out-z'), '--key', join(f.keys, 'outside.key'), '--cache', f.cache, '--config', cfg], { cwd: f.work });
    expect(p.exitCode, p.stderr).toBe(0);
    expect(await history(hostId, 'airgap.pack.status', 1)).toEqual(['0']);
    expect(await history(hostId, 'airgap.pack.artifacts', 1)).toEqual(['3']);

    const v = await runAirgap(['verify', bundle, '--pub', join(f.keys, 'outside.pub'), '--config', cfg], { cwd: f.work });
    expect(v.exitCode, v.stderr).toBe(0);
    expect(await history(hostId, 'airgap.verify.status', 1)).toEqual(['0']);
    expect(await history(hostId, 'airgap.verify.bytes', 1)).toEqual([String(3 * 2048)]);

    const ledger = join(f.work, 'ledger.jsonl');
    const okBefore = (await values(hostId, 'airgap.ledger.ok')).length;
    const good = await runAirgap(['ledger', 'verify', ledger, '--config', cfg], { cwd: f.work });
    expect(good.exitCode, good.stderr).toBe(0);
    expect((await history(hostId, 'airgap.ledger.ok', okBefore + 1))[0]).toBe('1');
    expect(await history(hostId, 'airgap.ledger_verify.status', 1)).toEqual(['0']);

    // An edited record breaks the chain: exit 3, ledger.ok 0, and the high-priority problem.
    const text = await readFile(ledger, 'utf8');
    await writeFile(ledger, text.replace('"action":"pushed"', '"action":"present"'));
    const broken = await runAirgap(['ledger', 'verify', ledger, '--config', cfg], { cwd: f.work });
    expect(broken.exitCode).toBe(3);
    expect((await history(hostId, 'airgap.ledger.ok', okBefore + 2))[0]).toBe('0');
    expect(await history(hostId, 'airgap.ledger_verify.status', 2)).toEqual(['3', '0']);
    await until('the ledger problem', 30_000, async () => ((await problems(hostId)).includes('airgap ledger: import ledger chain broken') ? true : undefined));
    await writeFile(ledger, text);
  });

  it('TLS with a pre-shared key, as zabbix_sender --tls-connect psk; the plain connection is refused for that host', async () => {
    const pskFile = join(f.work, 'zabbix.psk');
    await writeFile(pskFile, PSK + '\n', { mode: 0o600 });
    const cfg = await configFile('z-psk.yaml', `    server: "127.0.0.1:${zbx.port}"\n    host: ${PSK_HOST}\n    tls: { pskIdentity: ${PSK_IDENTITY}, pskFile: ./zabbix.psk }`);
    const v = await runAirgap(['verify', bundle, '--pub', join(f.keys, 'outside.pub'), '--config', cfg], { cwd: f.work });
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.stderr).not.toMatch(/zabbix/i);
    expect(await history(pskHostId, 'airgap.verify.status', 1)).toEqual(['0']);

    const plain = await configFile('z-psk-plain.yaml', `    server: "127.0.0.1:${zbx.port}"\n    host: ${PSK_HOST}`);
    const refused = await runAirgap(['verify', bundle, '--pub', join(f.keys, 'outside.pub'), '--config', plain], { cwd: f.work });
    expect(refused.exitCode, refused.stderr).toBe(0);
    expect(refused.stderr).toMatch(new RegExp(`warning: .*Zabbix server 127\\.0\\.0\\.1:${zbx.port}`));
    expect(refused.stderr).not.toContain(PSK);
  });
});

describe('a monitoring failure is a warning, never a failed run', () => {
  it('a server that is down: the run exits as it would, the warning names the server', async () => {
    // A port nothing listens on, below the kernel's ephemeral range so no other test's server takes it meanwhile.
    const port = await freeLowPort();
    const cfg = await configFile('z-down.yaml', `    server: "127.0.0.1:${port}"\n    host: ${HOST}`);
    const ok = await unpackTo('mirror-down', 'down.jsonl', cfg);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(new RegExp(`warning: sending the run's values to Zabbix server 127\\.0\\.0\\.1:${port} failed: .*ECONNREFUSED.*\\(the run itself is not affected\\)`));
    // A failing run keeps its own exit code too.
    const bad = await runAirgap(['verify', join(f.work, 'no-such-bundle'), '--pub', join(f.keys, 'outside.pub'), '--config', cfg], { cwd: f.work });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/Zabbix server 127\.0\.0\.1/);
    const again = await runAirgap(['verify', bundle, '--pub', join(f.keys, 'outside.pub'), '--config', cfg], { cwd: f.work });
    expect(again.exitCode).toBe(0);
  });

  it('a server that does not know the host: exit unchanged, the warning says what to configure', async () => {
    const cfg = await configFile('z-nohost.yaml', `    server: "127.0.0.1:${zbx.port}"\n    host: not-configured-in-zabbix`);
    const ok = await unpackTo('mirror-nohost', 'nohost.jsonl', cfg);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(new RegExp(`warning: Zabbix server 127\\.0\\.0\\.1:${zbx.port} took 0 of \\d+ values for host "not-configured-in-zabbix"`));
    expect(ok.stderr).toMatch(/airgap zabbix-template, docs\/monitoring\.md/);
  });

  it('a config with a malformed zabbix block is a config error naming the key (exit 2)', async () => {
    const cfg = await configFile('z-badconf.yaml', `    server: "127.0.0.1:${zbx.port}"`);
    const r = await runAirgap(['verify', bundle, '--pub', join(f.keys, 'outside.pub'), '--config', cfg], { cwd: f.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/notify\.zabbix/);
    expect(r.stderr).toMatch(/host/);
  });
});
