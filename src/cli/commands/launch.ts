// `launch`: what TALM's backup Job runs. Builds the host for the node root mounted at --host-root
// (node commands chrooted into it), runs the session, and always ends with one JSON line on stdout
// that says how TALM will see the run, whatever the output mode: a Job's log is read by people
// and by tools.
import path from 'node:path';
import { RecoveryError, errorMessage, type FailureKind } from '../../core/errors.js';
import type { Host } from '../../host/ports.js';
import { realHost } from '../../host/real.js';
import { chrootNodeCommands, directNodeCommands } from '../../host/chrootRunner.js';
import { formatBytes } from '../../backup/diskSpace.js';
import { LaunchSession, talmOutcome, type LaunchOutcome } from '../../launch/runLaunch.js';
import { GatedReporter } from '../../core/reporter.js';
import { EXIT, exitCodeFor } from '../exitCodes.js';
import { createOutput, type Output } from '../output.js';
import { TOOL_VERSION } from '../version.js';

export interface LaunchFlags {
  hostRoot: string;
  dir?: string;
  json: boolean;
  /** Run the node's commands from PATH with --root semantics instead of chrooted (sandboxes). */
  chroot: boolean;
  spaceMargin: number;
  /** Back up a degraded cluster (or past a failed space check) too, marked so: as `backup --force`. */
  force?: boolean;
}

/** 128 + the signal number, as a shell reports a process ended by it. */
const SIGNAL_EXIT = { SIGINT: EXIT.cancelled, SIGTERM: 143 } as const;

export function launchHost(flags: LaunchFlags): Host {
  const host = realHost(flags.hostRoot);
  const mode = flags.chroot ? chrootNodeCommands : directNodeCommands;
  return { ...host, runner: mode(host.runner, host.root.dir) };
}

export function launchDir(flags: LaunchFlags): string {
  return path.resolve(flags.dir ?? path.join(flags.hostRoot, 'var/recovery'));
}

/** Runs launch to its end and returns the exit code; a signal ends the process from its handler. */
export async function launchCommand(flags: LaunchFlags, selfExecutable: string | undefined): Promise<number> {
  const host = launchHost(flags);
  const output = await createOutput(flags.json, host.runner);
  // The run and a signal race to end the launch: whichever ends it closes the gate first, so the
  // result line is the last one (TALM and people read the Job's log from the end).
  const reporter = new GatedReporter(output.reporter);
  const session = new LaunchSession(host, reporter, {
    dir: launchDir(flags),
    spaceMargin: flags.spaceMargin,
    force: flags.force ?? false,
    toolVersion: TOOL_VERSION,
    ...(selfExecutable ? { selfExecutable } : {}),
  });
  let stopping: Promise<number> | undefined;
  const removeHandlers = onSignals((signal) => {
    stopping ??= (async () => {
      reporter.warn(`${signal}: stopping; the partial backup is kept and the next launch resumes it`);
      await session.interrupt().catch((error: unknown) => reporter.warn(`while stopping: ${errorMessage(error)}`));
      reporter.close();
      finish(output, flags.json, false, [`Stopped by ${signal}; the previous backup is untouched`, 'Next: run the Job again (the backup resumes)'], {
        outcome: 'interrupted',
        talm: talmOutcome('signal'),
        exitCode: SIGNAL_EXIT[signal],
        signal,
      });
      await output.close();
      return SIGNAL_EXIT[signal];
    })();
    return stopping;
  });
  // A run that ends (or fails, its files moved back under it) after a signal: the signal's result stands.
  const ended = (write: () => number): number | Promise<number> => {
    if (stopping) return stopping;
    reporter.close();
    return write();
  };
  try {
    const outcome = await session.run();
    return await ended(() => {
      finish(output, flags.json, true, describe(outcome), { ...resultJson(outcome), talm: talmOutcome('ok'), exitCode: EXIT.ok });
      return EXIT.ok;
    });
  } catch (error) {
    return await ended(() => {
      const kind: FailureKind = error instanceof RecoveryError ? error.kind : 'failure';
      const code = exitCodeFor(kind);
      const next = error instanceof RecoveryError ? error.next : undefined;
      finish(output, flags.json, false, [`error: ${errorMessage(error)}`, ...(next ? [`Next: ${next}`] : []), 'The previous backup, if any, is untouched'], {
        outcome: kind === 'precondition' || kind === 'usage' ? 'refused' : 'failed',
        talm: talmOutcome(kind),
        exitCode: code,
        error: { kind, message: errorMessage(error), ...(next ? { next } : {}) },
      });
      return code;
    });
  } finally {
    removeHandlers();
    await output.close();
  }
}

function resultJson(outcome: LaunchOutcome): Record<string, unknown> {
  if (outcome.kind === 'restore-in-progress') return { outcome: outcome.kind, message: outcome.message };
  const { backup } = outcome;
  return {
    outcome: outcome.kind,
    id: backup.id,
    dir: backup.dir,
    generation: backup.generation,
    resumed: backup.resumed,
    warnings: backup.summary.warnings.length,
  };
}

function describe(outcome: LaunchOutcome): string[] {
  if (outcome.kind === 'restore-in-progress') {
    return [`No backup taken: ${outcome.message}`, 'Nothing to do here: the Job ends cleanly and the restore goes on'];
  }
  const { backup } = outcome;
  const bytes = backup.summary.components.reduce((sum, c) => sum + c.bytes, 0);
  return [
    `Backup ${backup.id} complete${backup.resumed ? ' (resumed)' : ''}: ${formatBytes(bytes)} in ${backup.dir}`,
    ...(backup.summary.warnings.length ? [`${backup.summary.warnings.length} warning(s), listed above and in backup.json`] : []),
  ];
}

/** The closing lines; in text mode the JSON result line follows them, so it is always the last. */
function finish(output: Output, json: boolean, ok: boolean, lines: string[], value: Record<string, unknown>): void {
  const result = { ok, command: 'launch', ...value };
  output.result({ ok, lines, json: result });
  if (!json) process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event: 'result', ...result })}\n`);
}

function onSignals(handler: (signal: keyof typeof SIGNAL_EXIT) => Promise<number>): () => void {
  const listeners = (Object.keys(SIGNAL_EXIT) as Array<keyof typeof SIGNAL_EXIT>).map((signal) => {
    const listener = () => {
      // A second signal while cleaning up ends at once.
      process.once(signal, () => process.exit(SIGNAL_EXIT[signal]));
      void handler(signal).then((code) => process.exit(code), () => process.exit(SIGNAL_EXIT[signal]));
    };
    process.once(signal, listener);
    return () => process.removeListener(signal, listener);
  });
  return () => listeners.forEach((remove) => remove());
}
