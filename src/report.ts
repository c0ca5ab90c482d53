import { Listr } from 'listr2';
import { type Logger, type ProgressEvent, type ProgressSink, artifactLabel, formatSize } from '@airgap/core';

export type ReportMode = 'tty' | 'plain' | 'json';

export function reportMode(json: boolean): ReportMode {
  if (json) return 'json';
  return process.stderr.isTTY && !process.env.CI ? 'tty' : 'plain';
}

/**
 * How a command shows what it does: listr2 tasks on a terminal, timestamped plain lines otherwise
 * (cron, CI, pipes), nothing but warnings with --json (stdout then holds only the JSON document).
 * Progress goes to stderr so stdout stays the command's result.
 */
export class Reporter implements Logger {
  private current?: { output: string; update: () => void; counts: Record<string, number>; total?: number; bytes: number };

  constructor(readonly mode: ReportMode, private readonly debugEnabled = /airgap/.test(process.env.DEBUG ?? '')) {}

  info(message: string): void {
    if (this.mode === 'plain') this.line(message);
    else if (this.mode === 'tty' && this.current) {
      this.current.output = message;
      this.current.update();
    } else if (this.mode === 'tty') process.stderr.write(message + '\n');
  }

  warn(message: string): void {
    if (this.mode === 'plain') this.line('warning: ' + message);
    else process.stderr.write(`warning: ${message}\n`);
  }

  debug(message: string): void {
    if (this.debugEnabled) process.stderr.write(`debug: ${message}\n`);
  }

  readonly progress: ProgressSink = (e: ProgressEvent) => {
    const cur = this.current;
    if (e.type === 'bytes') {
      if (cur) {
        cur.bytes += e.bytes;
        cur.update();
      }
      return;
    }
    if (e.type === 'transfer') {
      // Per-blob byte progress from the transfer engine; the phase line counts finished downloads.
      if (cur && e.direction === 'download' && e.state === 'done') {
        cur.bytes += e.done;
        cur.update();
      }
      return;
    }
    if (e.type === 'phase') {
      if (cur) {
        cur.total = e.total;
        cur.update();
      }
      return;
    }
    if (cur && e.state !== 'start') cur.counts[e.state] = (cur.counts[e.state] ?? 0) + 1;
    if (this.mode === 'plain' && e.state !== 'start') {
      this.line(`${e.state.padEnd(7)} ${artifactLabel(e.artifact)}${e.error ? ': ' + e.error : ''}`);
    } else if (this.mode === 'tty' && e.state === 'failed') {
      if (cur) cur.output = `failed ${artifactLabel(e.artifact)}: ${e.error}`;
    }
    cur?.update();
  };

  /** Run one phase of a command, shown as a task on a terminal and as start/done lines otherwise. */
  async phase<T>(title: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    if (this.mode !== 'tty') {
      if (this.mode === 'plain') this.line(`${title} …`);
      try {
        const r = await fn();
        if (this.mode === 'plain') this.line(`${title}: done in ${((Date.now() - started) / 1000).toFixed(1)} s${this.summary()}`);
        return r;
      } finally {
        this.current = undefined;
      }
    }
    let result: T | undefined;
    const tasks = new Listr(
      [
        {
          title,
          task: async (_ctx, task) => {
            const state = { output: '', counts: {} as Record<string, number>, total: undefined as number | undefined, bytes: 0, update: () => {} };
            let last = 0;
            state.update = () => {
              const now = Date.now();
              if (now - last < 100) return;
              last = now;
              task.output = [this.summaryOf(state), state.output].filter(Boolean).join('  ');
            };
            this.current = state;
            try {
              result = await fn();
              task.title = `${title} (${((Date.now() - started) / 1000).toFixed(1)} s${this.summaryOf(state) ? ', ' + this.summaryOf(state) : ''})`;
            } finally {
              this.current = undefined;
            }
          },
        },
      ],
      { renderer: 'default', rendererOptions: { collapseErrors: false }, exitOnError: true, registerSignalListeners: false },
    );
    await tasks.run();
    return result as T;
  }

  private summary(): string {
    const s = this.current ? this.summaryOf(this.current) : '';
    return s ? ` (${s})` : '';
  }

  private summaryOf(state: { counts: Record<string, number>; total?: number; bytes: number }): string {
    const parts = Object.entries(state.counts).map(([k, v]) => `${v} ${k}`);
    if (state.total !== undefined) parts.unshift(`${Object.values(state.counts).reduce((a, b) => a + b, 0)}/${state.total}`);
    if (state.bytes) parts.push(formatSize(state.bytes));
    return parts.join(', ');
  }

  private line(message: string): void {
    process.stderr.write(`${new Date().toISOString()} ${message}\n`);
  }
}
