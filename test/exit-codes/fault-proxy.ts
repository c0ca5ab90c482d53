import { type GaugeProxy, startGaugeProxy } from '../harness/gauge-proxy.js';

/**
 * The recording proxy (test/harness/gauge-proxy.ts) in front of a real upstream (`backend`, an http://
 * origin), set to break it in one way, so one upstream serves the happy path and the failure classes of
 * docs/exit-codes.md at once:
 * - `status`: every request is answered with this HTTP status (a 5xx: the upstream is down);
 * - `corrupt`: the 200 bodies of the GETs whose paths it matches arrive with one byte flipped (the
 *   proxy's tamper: same length, so only a checksum can tell), everything else passes unchanged.
 * The Host header is passed on, so servers that build absolute URLs from it (verdaccio's tarball URLs)
 * point back at the proxy.
 */
export interface FaultProxy extends Pick<GaugeProxy, 'url' | 'host' | 'stop'> {
  /** The paths whose bodies it corrupted (a corrupt-mode test checks one was). */
  corrupted: string[];
}

export type Fault = { status: number } | { corrupt: (path: string) => boolean };

export async function startFaultProxy(backend: string, fault: Fault): Promise<FaultProxy> {
  const corrupted: string[] = [];
  const proxy = await startGaugeProxy(
    backend,
    'status' in fault
      ? { intercept: () => ({ status: fault.status, headers: { 'content-type': 'text/plain', 'retry-after': '0' }, body: 'upstream down (test)\n' }) }
      : {
          // asked only for a GET answered 200, just before its body is passed on flipped
          tamper: (path) => {
            if (!fault.corrupt(path)) return false;
            corrupted.push(path);
            return true;
          },
        },
  );
  return { url: proxy.url, host: proxy.host, corrupted, stop: () => proxy.stop() };
}
