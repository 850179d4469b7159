// Machine output: one JSON object per line on stdout; the last line is the result.
import type { ProgressEvent, Reporter } from '../core/reporter.js';

const PROGRESS_EVERY_MS = 1000;

export class JsonReporter implements Reporter {
  private lastProgress = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly now: () => Date,
    private readonly onLine?: (line: string) => void,
  ) {}

  stepStart(step: string, title: string): void {
    this.emit({ event: 'stepStart', step, title });
    this.onLine?.(`${title} ...`);
  }
  stepEnd(step: string, outcome: 'done' | 'skipped' | 'failed', detail?: string): void {
    this.emit({ event: 'stepEnd', step, outcome, ...(detail ? { detail } : {}) });
    this.onLine?.(`${step}: ${outcome}${detail ? ` (${detail})` : ''}`);
  }
  progress(event: ProgressEvent): void {
    const now = this.now().getTime();
    if (now - this.lastProgress < PROGRESS_EVERY_MS) return;
    this.lastProgress = now;
    this.emit({ event: 'progress', ...event });
  }
  info(message: string): void {
    this.emit({ event: 'info', message });
    this.onLine?.(message);
  }
  warn(message: string): void {
    this.emit({ event: 'warning', message });
    this.onLine?.(`warning: ${message}`);
  }
  result(value: object): void {
    this.emit({ event: 'result', ...value });
  }

  private emit(value: object): void {
    this.write(`${JSON.stringify({ time: this.now().toISOString(), ...value })}\n`);
  }
}
