import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { type AirgapConfig, HttpClient, type Logger, errorText, formatSize, safeUrl } from '@airgap/core';
import type { PackResult } from './pack.js';
import type { UnpackResult } from './unpack.js';
import { sendMail } from './smtp.js';

/** What a pack or unpack reports to the operators' channels: a headline and a few lines, no content. */
export interface RunNotice {
  /** e.g. `airgap unpack platform-base: OK` */
  subject: string;
  lines: string[];
}

/**
 * Send the run summary to the configured internal channels (config `notify`): a Mattermost incoming
 * webhook (`{"text": …}` POST) and/or mail over SMTP. A channel that fails is a warning, never a failed
 * job: the job's own exit code stands. Only the summary leaves (docs/cron.md).
 */
export async function notifyRun(config: AirgapConfig, notice: RunNotice, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const n = config.notify;
  if (!n) return;
  const text = [`${notice.subject} (${hostname()})`, ...notice.lines].join('\n');
  const tasks: Promise<void>[] = [];
  if (n.mattermost?.url) {
    const url = n.mattermost.url;
    tasks.push(
      postMattermost(url, text, config).catch((e) => log.warn(`notification to Mattermost ${hideHook(safeUrl(url))} failed: ${hideHook(errorText(e))} (the job itself is not affected)`)),
    );
  }
  if (n.smtp) {
    const smtp = n.smtp;
    tasks.push(
      (async () => {
        const ca = config.http?.caFile ? await readFile(config.http.caFile, 'utf8') : undefined;
        await sendMail(smtp, notice.subject, text, { env, ca, timeoutMs: Math.min(config.http?.timeoutMs ?? 20_000, 20_000) });
      })().catch((e) => log.warn(`notification mail via ${smtp.host}:${smtp.port} failed: ${errorText(e)} (the job itself is not affected)`)),
    );
  }
  await Promise.all(tasks);
}

async function postMattermost(url: string, text: string, config: AirgapConfig): Promise<void> {
  // Its own client: one retry and a short timeout, so an unreachable chat server cannot hold up cron.
  const http = new HttpClient({ ...config.http, retries: 1, timeoutMs: Math.min(config.http?.timeoutMs ?? 15_000, 15_000) });
  http.backoffMs = 500;
  try {
    const res = await http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }), side: 'target', followRedirects: false });
    await res.body.dump();
    if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
  } finally {
    await http.close();
  }
}

/** A Mattermost hook URL's last segment is its secret: keep it out of logs. */
function hideHook(text: string): string {
  return text.replace(/\/hooks\/[^\s/"')]+/g, '/hooks/…');
}

const fmtCounts = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${v} ${k}`).join(', ') || 'nothing to do';
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function unpackNotice(r: UnpackResult): RunNotice {
  const ok = r.failures.length === 0;
  return {
    subject: `airgap unpack ${r.name}: ${ok ? 'OK' : `${r.failures.length} FAILED (exit 4)`}`,
    lines: [
      `bundle ${r.name} of ${r.created} → ${r.target}${r.dryRun ? ' (dry run)' : ''}`,
      `${fmtCounts(r.counts)}; ${formatSize(r.bytes)} pushed in ${secs(r.durationMs)}`,
      ...(r.allowedOlder ? [`--allow-older: older than ${r.allowedOlder.newest}, which the ledger had`] : []),
      ...r.failures.slice(0, 10).map((f) => `failed: ${f.artifact}: ${f.error}`),
      ...(r.failures.length > 10 ? [`… and ${r.failures.length - 10} more failures (see the ledger)`] : []),
    ],
  };
}

export function packNotice(r: PackResult): RunNotice {
  const ok = r.skipped.length === 0;
  const packed = Object.values(r.countsByKind).reduce((n, c) => n + c.packed, 0);
  const base = Object.values(r.countsByKind).reduce((n, c) => n + c.base, 0);
  return {
    subject: `airgap pack ${r.bundle ? r.bundle.split('/').pop() : '(dry run)'}: ${ok ? 'OK' : `${r.skipped.length} LEFT OUT (exit 4)`}`,
    lines: [
      `${packed} artifacts, ${r.blobs} blobs, ${r.parts} parts, ${formatSize(r.bytes)} in ${secs(r.durationMs)}${r.base ? `; incremental: ${base} already inside left out` : ''}`,
      ...r.skipped.slice(0, 10).map((s) => `left out: ${s.entry}: ${s.error}`),
    ],
  };
}

export function failureNotice(command: string, what: string, e: unknown): RunNotice {
  const code = e && typeof e === 'object' && 'exitCode' in e ? Number((e as { exitCode: number }).exitCode) : 1;
  return { subject: `airgap ${command} ${what}: FAILED (exit ${code})`, lines: [errorText(e)] };
}
