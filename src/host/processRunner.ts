// The real CommandRunner, on node:child_process directly. A backup or restore starts a hundred and
// more commands (cp, getfattr, tar, rsync, sync, logger) from the thread that also plans and
// writes manifests; execa's own work per call cost that thread about 2.5 ms on top of the spawn
// (measured: 3.5-5 ms against 1.2-2.6 ms a call), which is most of what a small command costs us.
import { spawn, type ChildProcess } from 'node:child_process';
import { Readable, pipeline } from 'node:stream';
import type { CommandResult, CommandRunner, RunOptions } from './ports.js';

/** After a timeout's SIGTERM, a command that ignores it gets SIGKILL this much later. */
const FORCE_KILL_AFTER_MS = 5_000;

/** Children still running: ended with SIGTERM if we exit first (a retried copy must not race a stray one). */
const running = new Set<ChildProcess>();
let exitHookSet = false;

function killRunningAtExit(): void {
  if (exitHookSet) return;
  exitHookSet = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGTERM');
  });
}

export const processRunner: CommandRunner = {
  run(command, args, options = {}) {
    return new Promise<CommandResult>((resolve) => {
      killRunningAtExit();
      const { input } = options;
      const extraFds = options.extraFds ?? [];
      let child: ChildProcess;
      try {
        child = spawn(command, [...args], {
          cwd: options.cwd,
          env: options.env ? { ...process.env, ...options.env } : process.env,
          // No input: stdin is empty rather than a pipe left open that a command could wait on.
          stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...extraFds],
        });
      } catch (error) {
        resolve({ exitCode: 127, stdout: '', stderr: (error as Error).message });
        return;
      }
      running.add(child);
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout!.on('data', options.onStdout ?? ((chunk: Buffer) => void stdout.push(chunk)));
      child.stderr!.on('data', (chunk: Buffer) => void stderr.push(chunk));
      let settled = false;
      const settle = (result: CommandResult) => {
        if (settled) return;
        settled = true;
        running.delete(child);
        clearTimeout(timer);
        clearTimeout(forceKill);
        resolve(result);
      };
      let forceKill: NodeJS.Timeout | undefined;
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              child.kill('SIGTERM');
              forceKill = setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
            }, options.timeoutMs);
      child.on('error', (error: NodeJS.ErrnoException) => {
        // Not started (not found, not executable): the shell's 127. Errors of a started one end in 'close'.
        if (child.pid === undefined) settle({ exitCode: 127, stdout: '', stderr: error.message });
      });
      child.on('close', (code, signal) => {
        settle({
          exitCode: code ?? 128,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
          ...(signal ? { signal } : {}),
        });
      });
      if (input !== undefined) feed(child, input);
    });
  },
};

/**
 * Writes `input` to the child's stdin. A command that exits without reading all of it (EPIPE) is
 * judged by its exit code, as are the pieces of a stream that failed: the command sees its input
 * cut short, and the caller learns why from its own stream (treeStageArchive.ts).
 */
function feed(child: ChildProcess, input: NonNullable<RunOptions['input']>): void {
  const stdin = child.stdin!;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    stdin.on('error', () => undefined);
    stdin.end(input);
    return;
  }
  pipeline(Readable.from(input), stdin, () => undefined);
}
