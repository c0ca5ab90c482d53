/**
 * Ports for servers the tests start that cannot listen on port 0 and say which port they got (radosgw,
 * ceph-mon, zabbix_server, php -S). A port the kernel hands out for port 0, or for a connection's local
 * end, comes from Linux's ephemeral range (net.ipv4.ip_local_port_range, 32768–60999 by default): one
 * picked there and released could be taken by any other test's server or connection before the daemon
 * binds it. So these come from below that range, where the kernel never hands ports out by itself, and
 * are checked to be free on 127.0.0.1 (only another harness picking the same one at the same moment
 * could still collide: one in 12,000).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOW = 20_000;

/** The first port of the kernel's ephemeral range (32768 when it cannot be read). */
function ephemeralFirst(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOW + 1000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** A port in [20000, the ephemeral range) that nothing listens on at 127.0.0.1 now (also ≤ 32767: zabbix_server's limit). */
export async function freeLowPort(): Promise<number> {
  const high = Math.min(ephemeralFirst(), 32_768);
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (high - LOW));
    const s = createServer();
    const ok = await new Promise<boolean>((r) => {
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise((r) => s.close(r));
      return port;
    }
  }
  throw new Error(`no free port in ${LOW}–${high - 1} on 127.0.0.1`);
}

/** `count` different free low ports. */
export async function freeLowPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freeLowPort());
  return [...ports];
}
