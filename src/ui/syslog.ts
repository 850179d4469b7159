// The same lines the operator sees, to syslog via `logger -t upgrade-recovery`, as the old script
// did. One logger process takes them all on its stdin (util-linux logger sends one message per
// line as it reads it), started with the first line and ended by flush: a process per line cost
// a restore about a hundred of them, and one per batch still about ninety, each a fork of our
// process on a machine whose cores the restore itself keeps busy. If logger is missing or fails,
// we stop trying (once) rather than slow every step down.
import type { CommandRunner } from '../host/ports.js';
import { AsyncQueue } from '../core/asyncQueue.js';

export class SyslogSink {
  private queue: AsyncQueue<string> | undefined;
  private running: Promise<void> | undefined;
  private broken = false;

  constructor(
    private readonly runner: CommandRunner,
    private readonly tag = 'upgrade-recovery',
  ) {}

  log(line: string): void {
    if (this.broken) return;
    if (!this.queue) this.start();
    this.queue!.push(line);
  }

  /** Ends logger's input and waits for it to have sent every line (at exit). */
  async flush(): Promise<void> {
    const running = this.running;
    if (!running) return;
    this.queue!.end();
    this.queue = undefined;
    this.running = undefined;
    await running;
  }

  private start(): void {
    const queue = new AsyncQueue<string>();
    this.queue = queue;
    // All the lines that wait go as one piece of stdin.
    const pieces = async function* () {
      for await (const lines of queue) yield Buffer.from(`${lines.join('\n')}\n`);
    };
    this.running = this.runner.run('logger', ['-t', this.tag], { input: pieces() }).then((run) => {
      // Ended before we ended its input (not there, killed), or failed: no more tries.
      if (!queue.ended || run.exitCode !== 0) this.broken = true;
      queue.end();
      if (this.queue === queue) {
        this.queue = undefined;
        this.running = undefined;
      }
    });
  }
}
