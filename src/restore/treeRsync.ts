// One rsync call over a list of paths: `--files-from=- --from0` on stdin takes names of any bytes
// (an argument list could not: arguments must be text), paths go to rsync as arguments, never
// through a shell, and a failure becomes one line naming the tree and the cause.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';

export interface RsyncListCopy {
  /** rsync's own flags for this copy (`-aAXHS`, `--size-only`...). */
  flags: readonly string[];
  from: string;
  to: string;
  /** Paths relative to `from`. */
  paths: readonly Buffer[];
  /** For the error message: "staging the restore of etc in /etc". */
  what: string;
  /** Called once per entry rsync handles, with its size. */
  onEntry?: (bytes: number) => void;
}

export async function rsyncList(host: Host, copy: RsyncListCopy): Promise<void> {
  const lines = copy.onEntry ? lineSplitter((line) => copy.onEntry!(Number.parseInt(line, 10) || 0)) : undefined;
  const run = await host.runner.run(
    'rsync',
    [
      ...copy.flags,
      '--numeric-ids',
      // Times to the nanosecond: rsync's default compares whole seconds, and leaves a time that
      // differs by less as it is.
      '--modify-window=-1',
      '--files-from=-',
      '--from0',
      // One line per entry with its size: enough for progress, whatever the names are.
      ...(lines ? ['--out-format=%l'] : []),
      // Absolute paths: a colon in them can never be read as a remote host.
      dirArgument(copy.from),
      dirArgument(copy.to),
    ],
    { input: nulList(copy.paths), ...(lines ? { onStdout: lines } : {}) },
  );
  if (run.exitCode === 0) return;
  if (run.exitCode === 127) throw new RecoveryError('failure', `${copy.what}: rsync is not available (package rsync)`);
  if (/No space left on device/.test(run.stderr)) throw new RecoveryError('failure', `${copy.what}: No space left on device`);
  const cause = run.stderr.trim().split('\n').find((l) => l.trim() !== '') ?? (run.signal ? `killed by ${run.signal}` : 'no message');
  throw new RecoveryError('failure', `${copy.what}: rsync failed (exit ${run.exitCode}): ${cause}`);
}

/** `a\0b\0`: a list any name bytes pass through (rsync --from0). */
function nulList(paths: readonly Buffer[]): Buffer {
  const nul = Buffer.alloc(1);
  return Buffer.concat(paths.flatMap((rel) => [rel, nul]));
}

/** `dir/`: the content of dir, not dir itself, as an absolute path. */
function dirArgument(dir: string): string {
  const absolute = path.resolve(dir);
  return absolute.endsWith('/') ? absolute : `${absolute}/`;
}

function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let carry = '';
  return (chunk) => {
    const lines = (carry + chunk.toString('latin1')).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
}
