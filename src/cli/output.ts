// Builds the reporter a command talks to: text (spinner on a terminal, timestamped lines
// otherwise) or JSON lines, plus syslog. The one place that knows about stdout and TTYs.
import type { Reporter } from '../core/reporter.js';
import { TextReporter } from '../ui/textReporter.js';
import { JsonReporter } from '../ui/jsonReporter.js';
import { SyslogSink } from '../ui/syslog.js';
import { processRunner } from '../host/processRunner.js';
import type { CommandRunner } from '../host/ports.js';

export interface Output {
  reporter: Reporter;
  /** The closing result: a summary and the next thing to do (text), or the last JSON line. */
  result(value: { ok: boolean; lines: string[]; json: object }): void;
  close(): Promise<void>;
}

/**
 * `runner` runs `logger`: launch passes its chroot runner, so lines reach the node's journal.
 * The spinner library is loaded only for a terminal: with what it pulls in it is a third of the
 * binary's start-up (60 of 145 ms), paid otherwise by every --json run and every Job's backup.
 */
export async function createOutput(json: boolean, runner: CommandRunner = processRunner): Promise<Output> {
  const syslog = new SyslogSink(runner);
  const now = () => new Date();
  if (json) {
    const reporter = new JsonReporter((line) => process.stdout.write(line), now, (line) => syslog.log(line));
    return {
      reporter,
      result: ({ ok, json: value, lines }) => {
        for (const line of lines) syslog.log(line);
        reporter.result({ ok, ...value });
      },
      close: () => syslog.flush(),
    };
  }
  const stream = process.stderr.isTTY ? process.stderr : process.stdout;
  const spinner = canRedraw(stream) ? { spinner: (await import('ora')).default } : {};
  const reporter = new TextReporter({ stream, now, onLine: (line) => syslog.log(line), ...spinner });
  return {
    reporter,
    result: ({ lines }) => reporter.finish(lines),
    close: () => syslog.flush(),
  };
}

/**
 * A spinner redraws lines in place, which needs a terminal that knows its width: a serial console
 * or a bare `script` session reports 0 columns, and redrawing there floods the output.
 */
function canRedraw(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && process.env.TERM !== 'dumb';
}
