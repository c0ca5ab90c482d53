import { UsageError } from '@airgap/core';

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all addresses); port 0 picks a free one. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(`--listen ${JSON.stringify(s)} is not HOST:PORT`, { subject: s, hint: 'e.g. --listen 127.0.0.1:8080, --listen 0.0.0.0:8443, --listen [::1]:8080' });
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
