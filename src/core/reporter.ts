// What the core tells the operator. The core emits events; src/ui/ turns them into a spinner,
// plain timestamped lines, JSON lines and syslog. The core never writes to the terminal itself.

export interface ProgressEvent {
  /** The component being worked on: etc, local, kubelet, cluster, ... */
  component: string;
  /** What is happening to it: copying bytes, or hashing them into the manifest. */
  activity: 'copy' | 'hash' | 'scan';
  files: number;
  bytes: number;
  totalFiles?: number;
  totalBytes?: number;
}

export interface Reporter {
  /** A step of the runbook begins. */
  stepStart(step: string, title: string): void;
  /** A step ends; `detail` is a short summary (sizes, counts). */
  stepEnd(step: string, outcome: 'done' | 'skipped' | 'failed', detail?: string): void;
  progress(event: ProgressEvent): void;
  info(message: string): void;
  /** Something the operator should know about that does not stop the work. */
  warn(message: string): void;
}

/** For tests and for callers that want no output: keeps every event in order. */
export class RecordingReporter implements Reporter {
  readonly events: Array<{ type: string; [key: string]: unknown }> = [];

  stepStart(step: string, title: string): void {
    this.events.push({ type: 'stepStart', step, title });
  }
  stepEnd(step: string, outcome: 'done' | 'skipped' | 'failed', detail?: string): void {
    this.events.push({ type: 'stepEnd', step, outcome, detail });
  }
  progress(event: ProgressEvent): void {
    this.events.push({ type: 'progress', ...event });
  }
  info(message: string): void {
    this.events.push({ type: 'info', message });
  }
  warn(message: string): void {
    this.events.push({ type: 'warn', message });
  }
  warnings(): string[] {
    return this.events.filter((e) => e.type === 'warn').map((e) => String(e.message));
  }
}

/**
 * Passes events on until closed, then drops them. A launch stopped by a signal writes its result
 * while the backup's steps are still winding down: once the result is out, nothing may follow it.
 */
export class GatedReporter implements Reporter {
  private open = true;

  constructor(private readonly inner: Reporter) {}

  close(): void {
    this.open = false;
  }

  stepStart(step: string, title: string): void {
    if (this.open) this.inner.stepStart(step, title);
  }
  stepEnd(step: string, outcome: 'done' | 'skipped' | 'failed', detail?: string): void {
    if (this.open) this.inner.stepEnd(step, outcome, detail);
  }
  progress(event: ProgressEvent): void {
    if (this.open) this.inner.progress(event);
  }
  info(message: string): void {
    if (this.open) this.inner.info(message);
  }
  warn(message: string): void {
    if (this.open) this.inner.warn(message);
  }
}
