// The same lines the operator sees, to syslog via `logger -t upgrade-recovery`, as the old script
// did. Lines go in the background, those that wait meanwhile in one logger call (one message per
// line of its input): a process per line cost a restore about a hundred of them, on a machine whose
// cores the restore itself keeps busy. If logger is missing or fails, we stop trying (once) rather
// than slow every step down.
import type { CommandRunner } from '../host/ports.js';

export class SyslogSink {
  private waiting: string[] = [];
  private sending: Promise<void> | undefined;
  private broken = false;

  constructor(
    private readonly runner: CommandRunner,
    private readonly tag = 'upgrade-recovery',
  ) {}

  log(line: string): void {
    if (this.broken) return;
    this.waiting.push(line);
    this.sending ??= this.send();
  }

  /** Waits for the lines already queued (at exit). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private async send(): Promise<void> {
    while (this.waiting.length > 0 && !this.broken) {
      const lines = this.waiting;
      this.waiting = [];
      const run = await this.runner.run('logger', ['-t', this.tag], { input: `${lines.join('\n')}\n` });
      if (run.exitCode !== 0) this.broken = true;
    }
    this.waiting = [];
    this.sending = undefined;
  }
}
