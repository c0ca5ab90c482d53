import { describe, expect, it } from 'vitest';
import { frame, parseAnswer, serverAddress, unframe } from './zabbix-sender.js';
import { trapperValues } from './zabbix.js';

describe('Zabbix sender protocol framing (docs/monitoring.md)', () => {
  it('writes ZBXD, flags 0x01, the length as 64-bit little-endian, then the JSON', () => {
    const f = frame('{"request":"sender data"}');
    expect(f.subarray(0, 4).toString('latin1')).toBe('ZBXD');
    expect(f[4]).toBe(0x01);
    expect(f.readUInt32LE(5)).toBe(25);
    expect(f.readUInt32LE(9)).toBe(0);
    expect(f.subarray(13).toString()).toBe('{"request":"sender data"}');
  });

  it('reads an answer only when it is whole, and refuses what is not Zabbix', () => {
    const f = frame('{"response":"success","info":"processed: 2; failed: 1; total: 3; seconds spent: 0.000055"}');
    expect(unframe(f.subarray(0, 20))).toBeUndefined();
    const a = parseAnswer(unframe(f)!);
    expect(a).toMatchObject({ response: 'success', processed: 2, failed: 1, total: 3 });
    expect(() => unframe(Buffer.from('HTTP/1.1 400 Bad Request\r\n'))).toThrow(/not Zabbix protocol/);
    const huge = Buffer.alloc(13);
    huge.write('ZBXD');
    huge[4] = 1;
    huge.writeUInt32LE(0x7fffffff, 5);
    expect(() => unframe(huge)).toThrow(/more than a Zabbix server sends/);
  });

  it('takes host, host:port and [v6]:port', () => {
    expect(serverAddress('zabbix.corp.internal')).toEqual({ host: 'zabbix.corp.internal', port: 10051 });
    expect(serverAddress('10.0.0.5:10052')).toEqual({ host: '10.0.0.5', port: 10052 });
    expect(serverAddress('[::1]:10051')).toEqual({ host: '::1', port: 10051 });
  });
});

describe('trapper values of a run', () => {
  const now = new Date('2026-12-01T10:00:00Z');
  it('sends last_success only for exit 0', () => {
    const ok = trapperValues({ command: 'unpack', exitCode: 0, durationMs: 1500, bytes: 10, artifacts: 3, failed: 0 }, now);
    expect(ok).toEqual([
      { key: 'airgap.unpack.status', value: 0 },
      { key: 'airgap.unpack.duration', value: '1.500' },
      { key: 'airgap.unpack.bytes', value: 10 },
      { key: 'airgap.unpack.artifacts', value: 3 },
      { key: 'airgap.unpack.failed', value: 0 },
      { key: 'airgap.last_success[unpack]', value: 1796119200 },
    ]);
    const partial = trapperValues({ command: 'unpack', exitCode: 4, durationMs: 10, failed: 2 }, now);
    expect(partial.map((v) => v.key)).not.toContain('airgap.last_success[unpack]');
    expect(partial).toContainEqual({ key: 'airgap.unpack.failed', value: 2 });
  });

  it('ledger verify: the chain state as 1/0', () => {
    expect(trapperValues({ command: 'ledger_verify', exitCode: 3, durationMs: 5, ledgerOk: false }, now)).toContainEqual({ key: 'airgap.ledger.ok', value: 0 });
  });
});
