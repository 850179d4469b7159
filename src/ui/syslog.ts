// The same lines the operator sees, to syslog via `logger -t upgrade-recovery`, as the old script
// did. Lines are sent one after another in the background; if logger is missing or fails, we stop
// trying (once) rather than slow every step down.
import type { CommandRunner } from '../host/ports.js';

export class SyslogSink {
  private queue: Promise<void> = Promise.resolve();
  private broken = false;

  constructor(
    private readonly runner: CommandRunner,
    private readonly tag = 'upgrade-recovery',
  ) {}

  log(line: string): void {
    if (this.broken) return;
    this.queue = this.queue.then(async () => {
      if (this.broken) return;
      const run = await this.runner.run('logger', ['-t', this.tag, '--', line]);
      if (run.exitCode !== 0) this.broken = true;
    });
  }

  /** Waits for the lines already queued (at exit). */
  flush(): Promise<void> {
    return this.queue;
  }
}
