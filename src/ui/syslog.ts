// The same lines the operator sees, to syslog via `logger -t upgrade-recovery`, as the old script
// did. One logger process takes the lines on its input as they come (one message per line) and
// ends once none has come for a while; the next line starts another. A process per line cost a
// restore about a hundred of them, and a call per batch still 23 for a backup, each about 10 ms of
// this thread (a fork of a process of 140 MB, and execa's own work) on a machine whose two cores
// the backup keeps busy. If logger is missing or fails, we stop trying (once) rather than slow
// every step down.
import type { CommandRunner } from '../host/ports.js';

/** A logger process ends after this long without a line (so a command never waits on it at exit). */
export const LOGGER_IDLE_MS = 2000;

export class SyslogSink {
  private feed: LineFeed | undefined;
  private running: Promise<void> | undefined;
  private broken = false;

  constructor(
    private readonly runner: CommandRunner,
    private readonly tag = 'upgrade-recovery',
    private readonly idleMs = LOGGER_IDLE_MS,
  ) {}

  log(line: string): void {
    if (this.broken) return;
    if (!this.feed) this.start();
    this.feed!.push(line);
  }

  /** Ends the logger's input and waits for it to log what it has (at exit). */
  async flush(): Promise<void> {
    this.feed?.end();
    while (this.running) await this.running;
  }

  private start(): void {
    const feed = new LineFeed(this.idleMs, () => {
      // Ended (idle, or flushed): the next line needs a new process.
      if (this.feed === feed) this.feed = undefined;
    });
    this.feed = feed;
    const running: Promise<void> = this.runner
      .run('logger', ['-t', this.tag], { input: feed })
      .then(
        (run) => {
          if (run.exitCode !== 0) this.broken = true;
        },
        () => {
          this.broken = true;
        },
      )
      .finally(() => {
        feed.end();
        if (this.running === running) this.running = undefined;
      });
    this.running = running;
  }
}

/** The lines for one logger process, as its input: ends on `end()` or after `idleMs` without a line. */
class LineFeed implements AsyncIterable<Uint8Array> {
  private lines: string[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly idleMs: number,
    private readonly onEnd: () => void,
  ) {
    this.armIdle();
  }

  push(line: string): void {
    this.lines.push(line);
    this.armIdle();
    this.wake?.();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.idle);
    this.onEnd();
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.lines.length > 0) {
        const text = `${this.lines.join('\n')}\n`;
        this.lines = [];
        yield Buffer.from(text);
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  private armIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.end(), this.idleMs);
    // Not what keeps the process alive: its logger child does, until this ends it.
    this.idle.unref();
  }
}
