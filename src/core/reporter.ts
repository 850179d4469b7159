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
