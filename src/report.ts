import { type Logger, type ProgressEvent, type ProgressSink, artifactLabel, printable } from '@airgap/core';
import { ByteMeter } from './progress.js';

export type ReportMode = 'tty' | 'plain' | 'json';

export function reportMode(json: boolean): ReportMode {
  if (json) return 'json';
  // A pty that reports 0 columns (some CI runners, `stty cols 0`) cannot hold a redrawn task list: lines.
  return process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && !process.env.CI ? 'tty' : 'plain';
}

interface PhaseState {
  output: string;
  update: () => void;
  counts: Record<string, number>;
  /** Artifacts finished in this phase (also those a dry run counts under another: `sameAs`). */
  done: number;
  total?: number;
  meter: ByteMeter;
}

/**
 * How a command shows what it does: listr2 tasks on a terminal, timestamped plain lines otherwise
 * (cron, CI, pipes), nothing but warnings with --json (stdout then holds only the JSON document).
 * Progress goes to stderr so stdout stays the command's result. Each phase shows its bytes done, of how
 * many, the rate and the ETA (docs/transfers.md, progress): on a terminal in the task line, in cron as a
 * heartbeat line every `progressInterval` ms besides the line per finished artifact.
 */
export class Reporter implements Logger {
  private current?: PhaseState;
  /** `--progress-interval`: ms between heartbeat lines in plain mode. */
  progressInterval = 30_000;

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
    if (e.type === 'bytes' || e.type === 'transfer' || e.type === 'phase') {
      if (!cur) return;
      if (e.type === 'phase' && e.total !== undefined) cur.total = e.total;
      cur.meter.feed(e);
      cur.update();
      return;
    }
    if (cur && e.state !== 'start') {
      cur.done++;
      if (!e.sameAs) cur.counts[e.state] = (cur.counts[e.state] ?? 0) + 1;
    }
    // Names come from manifests, upstreams and bundles: printed with control characters escaped.
    const label = printable(artifactLabel(e.artifact));
    if (this.mode === 'plain' && e.state !== 'start') {
      const same = e.sameAs ? ` (the same content as ${printable(e.sameAs)}: counted once)` : '';
      this.line(`${stateLabel(e.state).padEnd(7)} ${label}${same}${e.error ? ': ' + printable(e.error, { lines: true }) : ''}`);
    } else if (this.mode === 'tty' && e.state === 'failed') {
      if (cur) cur.output = `failed ${label}: ${printable(e.error ?? '')}`;
    }
    cur?.update();
  };

  /** Run one phase of a command, shown as a task on a terminal and as start/done lines otherwise. */
  async phase<T>(title: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    if (this.mode !== 'tty') {
      const state: PhaseState = { output: '', counts: {}, done: 0, meter: new ByteMeter(), update: () => {} };
      this.current = state;
      let heartbeat: NodeJS.Timeout | undefined;
      if (this.mode === 'plain') {
        this.line(`${title} …`);
        // The heartbeat: cron's log shows the run is alive, and how far, even while one big blob streams.
        heartbeat = setInterval(() => {
          const s = this.summaryOf(state);
          this.line(`${title}: ${s || 'working'} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
        }, this.progressInterval);
        heartbeat.unref();
      }
      try {
        const r = await fn();
        if (this.mode === 'plain') this.line(`${title}: done in ${((Date.now() - started) / 1000).toFixed(1)} s${this.summary()}`);
        return r;
      } finally {
        clearInterval(heartbeat);
        this.current = undefined;
      }
    }
    let result: T | undefined;
    // listr2 is loaded only on a terminal: cron, CI and --json runs never need it (start-up time).
    const { Listr } = await import('listr2');
    const tasks = new Listr(
      [
        {
          title,
          task: async (_ctx, task) => {
            const state: PhaseState = { output: '', counts: {}, done: 0, meter: new ByteMeter(), update: () => {} };
            let last = 0;
            state.update = () => {
              const now = Date.now();
              if (now - last < 100) return;
              last = now;
              task.output = [this.summaryOf(state), state.output].filter(Boolean).join('  ');
            };
            this.current = state;
            // Rate and ETA move on while a slow blob sends no event: redraw every second.
            const tick = setInterval(state.update, 1000);
            tick.unref();
            try {
              result = await fn();
              const s = this.summaryOf(state, true);
              task.title = `${title} (${((Date.now() - started) / 1000).toFixed(1)} s${s ? ', ' + s : ''})`;
            } finally {
              clearInterval(tick);
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
    const s = this.current ? this.summaryOf(this.current, true) : '';
    return s ? ` (${s})` : '';
  }

  /** Counts, then bytes (done / total, rate, ETA); `final`: the bytes moved, without rate or ETA. */
  private summaryOf(state: PhaseState, final = false): string {
    const parts = Object.entries(state.counts).map(([k, v]) => `${v} ${stateLabel(k)}`);
    if (state.total !== undefined) parts.unshift(`${state.done}/${state.total}`);
    const bytes = final ? state.meter.finalText() : state.meter.text();
    if (bytes) parts.push(bytes);
    return parts.join(', ');
  }

  private line(message: string): void {
    process.stderr.write(`${new Date().toISOString()} ${message}\n`);
  }
}

/** An artifact's state as the operator reads it: `would-push` (a dry run's count key) is "would push". */
export function stateLabel(state: string): string {
  return state === 'would-push' ? 'would push' : state;
}
