// Human output. On a terminal: a spinner per step whose text shows files, bytes and ETA. Elsewhere
// (a Job's log, a pipe): plain lines with a UTC timestamp, progress at most every few seconds.
// Every plain line also goes to `lines` (syslog), so the journal of the node tells the same story.
import type { Ora } from 'ora';
import chalk from 'chalk';
import type { ProgressEvent, Reporter } from '../core/reporter.js';
import { estimateRemaining, formatBytes, formatDuration } from './format.js';

export interface TextReporterOptions {
  stream: NodeJS.WriteStream;
  now: () => Date;
  /** Receives every line worth keeping (not the spinner's redraws). */
  onLine?: (line: string) => void;
  /**
   * On a terminal, what makes a step's spinner (ora, loaded only then: see createOutput); without
   * it, plain timestamped lines.
   */
  spinner?: (options: { text: string; stream: NodeJS.WriteStream }) => Ora;
}

const PLAIN_PROGRESS_EVERY_MS = 5000;

export class TextReporter implements Reporter {
  private spinner: Ora | undefined;
  private readonly startedAt = new Map<string, number>();
  private lastPlainProgress = 0;

  private readonly interactive: boolean;

  constructor(private readonly options: TextReporterOptions) {
    this.interactive = options.spinner !== undefined;
  }

  stepStart(step: string, title: string): void {
    this.startedAt.set(step, this.options.now().getTime());
    if (this.options.spinner) {
      this.spinner = this.options.spinner({ text: title, stream: this.options.stream }).start();
    }
    this.keep(`${title} ...`, !this.interactive);
  }

  stepEnd(step: string, outcome: 'done' | 'skipped' | 'failed', detail?: string): void {
    const seconds = (this.options.now().getTime() - (this.startedAt.get(step) ?? this.options.now().getTime())) / 1000;
    const text = `${step}: ${outcome}${detail ? ` (${detail})` : ''}${outcome === 'done' ? ` in ${formatDuration(seconds)}` : ''}`;
    if (this.spinner) {
      const method = outcome === 'failed' ? 'fail' : outcome === 'skipped' ? 'info' : 'succeed';
      this.spinner[method](text);
      this.spinner = undefined;
    }
    this.keep(text, !this.interactive);
  }

  progress(event: ProgressEvent): void {
    const line = describeProgress(event, this.options.now().getTime() - (this.startedAt.get(event.component) ?? this.options.now().getTime()));
    if (this.spinner) {
      this.spinner.text = line;
      return;
    }
    const now = this.options.now().getTime();
    if (now - this.lastPlainProgress < PLAIN_PROGRESS_EVERY_MS) return;
    this.lastPlainProgress = now;
    this.print(line);
  }

  info(message: string): void {
    this.interrupting(() => this.keep(message, true));
  }

  warn(message: string): void {
    this.interrupting(() => this.keep(`${this.interactive ? chalk.yellow('warning:') : 'warning:'} ${message}`, true));
  }

  /**
   * The closing lines: what happened and the one thing to do next. A step that threw has had no
   * stepEnd: its spinner is ended here, marked failed, or its timer would keep the process alive
   * (the command hung after its error, on a terminal only).
   */
  finish(lines: string[]): void {
    this.spinner?.fail();
    this.spinner = undefined;
    for (const line of lines) this.keep(line, true);
  }

  private interrupting(write: () => void): void {
    if (this.spinner?.isSpinning) {
      this.spinner.clear();
      write();
      this.spinner.render();
    } else write();
  }

  private keep(line: string, print: boolean): void {
    this.options.onLine?.(line);
    if (print) this.print(line);
  }

  private print(line: string): void {
    const prefix = this.interactive ? '' : `${this.options.now().toISOString()} `;
    this.options.stream.write(`${prefix}${line}\n`);
  }
}

export function describeProgress(event: ProgressEvent, elapsedMs: number): string {
  const verb = event.activity === 'copy' ? 'copying' : event.activity === 'hash' ? 'checksumming' : 'scanning';
  const unit = event.activity === 'copy' ? 'entries' : 'files';
  const files = ` ${event.files}${event.totalFiles ? `/${event.totalFiles}` : ''} ${unit},`;
  const bytes = `${formatBytes(event.bytes)}${event.totalBytes ? ` of ${formatBytes(event.totalBytes)}` : ''}`;
  const eta = estimateRemaining(event.bytes, event.totalBytes, elapsedMs);
  return `${event.component}: ${verb}${files} ${bytes}${eta !== undefined ? `, ETA ${formatDuration(eta)}` : ''}`;
}
