// The CLI: parses arguments (commander), builds the host and the output, runs one command and
// turns its outcome into an exit code. The only module that knows about exit codes; nothing
// below src/cli/ calls process.exit.
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { isSea } from 'node:sea';
import { RecoveryError, errorMessage, type FailureKind } from '../core/errors.js';
import { realHost } from '../host/real.js';
import { EXIT, exitCodeFor } from './exitCodes.js';
import { translateLegacyArgs } from './legacyArgs.js';
import { createOutput, type Output } from './output.js';
import { TOOL_VERSION } from './version.js';
import { backupCommand, DEFAULT_MARGIN_GIB, parseSpaceMargin } from './commands/backup.js';
import { verifyCommand } from './commands/verify.js';
import { restoreCommand } from './commands/restore.js';
import { statusCommand } from './commands/status.js';
import { rollbackCommand, terminalConfirm } from './commands/rollback.js';
import { launchCommand } from './commands/launch.js';
import { OLD_TIMEOUTS } from '../restore/context.js';
import { imageSelection, withImageFlags } from './imageFlags.js';
import { backupHealthOptions, kubeconfigFromEnv, withBackupHealthFlags, withCertFlag, withRestoreHealthFlags } from './identityFlags.js';
import { nonNegative, secondsOption } from './numberOptions.js';

interface CommonFlags {
  root: string;
  dir?: string;
  json: boolean;
}

const EXAMPLES = `
Examples:
  upgrade-recovery backup                         back up this node into /var/recovery
  upgrade-recovery backup --root /host --json     from a container with the host at /host
  upgrade-recovery verify --data                  check every byte of the backup
  upgrade-recovery status                         the backup and the restore under way, and what to run next
  upgrade-recovery rollback                       which OS rollback the node needs before a restore (--apply does it)
  upgrade-recovery restore --dry-run              what a restore would change, changing nothing
  upgrade-recovery restore                        restore the files, then: systemctl reboot
  upgrade-recovery restore --resume               after the reboot (or a crash): the rest of the restore
  upgrade-recovery launch                         TALM's backup Job, with the node's root at /host
  upgrade-recovery --take-backup --dir /var/recovery   the old script's flags still work
  upgrade-recovery.sh --resume                     (the old name, in the backup dir)

Exit codes:
  0 done   1 failed   2 bad arguments   3 a check refused to start (space, lock, restore under way)
  4 stopped part-way, run again to resume   5 restored, but the cluster is not healthy
  130 interrupted by the operator`;

export async function runMain(argv: readonly string[]): Promise<number> {
  let outcome: number = EXIT.ok;
  let output: Output | undefined;
  const program = new Command('upgrade-recovery')
    .description('Back up a Single-Node OpenShift node before an upgrade, and bring it back after a failed one.')
    .version(TOOL_VERSION, '-V, --version')
    .addHelpText('after', EXAMPLES)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text), writeOut: (text) => process.stdout.write(text) });

  const run = (work: (flags: CommonFlags & Record<string, unknown>, out: Output) => Promise<FailureKind | undefined | void>) =>
    async (flags: CommonFlags & Record<string, unknown>) => {
      output = await createOutput(flags.json);
      try {
        const kind = await work(flags, output);
        if (kind) outcome = exitCodeFor(kind);
      } catch (error) {
        outcome = reportFailure(output, error);
      } finally {
        await output.close();
      }
    };

  withBackupHealthFlags(withImageFlags(withCommonFlags(program.command('backup'))))
    .description('Pin the booted deployment and back up etcd, the static pod resources, /etc, /usr/local, /var/lib/kubelet')
    .option('--force', 'go on even when the free-space check fails or the cluster is degraded (the backup is marked so)', false)
    .option('--fresh', 'discard an interrupted backup instead of resuming it', false)
    .addOption(
      new Option('--space-margin <GiB>', 'free space to keep beyond the estimated size').default(DEFAULT_MARGIN_GIB).argParser(nonNegative),
    )
    .action(
      run((flags, out) =>
        backupCommand(
          realHost(flags.root),
          out,
          {
            dir: backupDir(flags),
            force: Boolean(flags.force),
            fresh: Boolean(flags.fresh),
            spaceMargin: parseSpaceMargin(String(flags.spaceMargin)),
            images: imageSelection(flags),
            ...backupHealthOptions(flags),
          },
          isSea() ? process.execPath : undefined,
        ),
      ),
    );

  withCommonFlags(program.command('verify'))
    .description('Check the backup against its manifest: structure and sizes, or every byte with --data')
    .option('--data', 'read and hash every file', false)
    .action(run((flags, out) => verifyCommand(realHost(flags.root), out, { dir: backupDir(flags), data: Boolean(flags.data) })));

  withRestoreHealthFlags(withCommonFlags(program.command('restore')))
    .description('Bring the node back to the backup: files, reboot, cluster, redeploy, recorded in a journal')
    .option('--resume', 'continue the restore under way (after the reboot, or a crash)', false)
    .option('--restart', 'abandon the restore under way (its journal is kept) and start over', false)
    .option('--step', 'run one phase, then stop', false)
    .option('--force', 'skip the pinned-deployment, backup, identity, free-space and reboot checks (warned)', false)
    .option('--dry-run', 'show what each phase would change and run, and change nothing', false)
    .option('--verify-data', 'check every byte of the backup before starting (default: structure and sizes)', false)
    .addOption(secondsOption('--container-timeout <seconds>', 'how long each control-plane container may take to restart', OLD_TIMEOUTS.containerMs))
    .addOption(secondsOption('--redeploy-timeout <seconds>', 'how long each forced redeployment may take', OLD_TIMEOUTS.redeployMs))
    .addOption(secondsOption('--poll-interval <seconds>', 'time between two polls of crictl or oc', OLD_TIMEOUTS.pollMs))
    .action(
      run((flags, out) =>
        restoreCommand(
          realHost(flags.root),
          out,
          {
            dir: backupDir(flags),
            resume: Boolean(flags.resume) && !flags.restart,
            restart: Boolean(flags.restart),
            step: Boolean(flags.step),
            force: Boolean(flags.force),
            dryRun: Boolean(flags.dryRun),
            verifyData: Boolean(flags.verifyData),
            ...kubeconfigFromEnv(),
            timeouts: {
              containerMs: Number(flags.containerTimeout) * 1000,
              redeployMs: Number(flags.redeployTimeout) * 1000,
              pollMs: Number(flags.pollInterval) * 1000,
              healthMs: Number(flags.healthTimeout) * 1000,
            },
            toolVersion: TOOL_VERSION,
            certWarnDays: Number(flags.certWarnDays),
          },
          (handler) => onInterrupt(handler, () => output),
        ),
      ),
    );

  withCertFlag(withCommonFlags(program.command('status')))
    .description('The backup (when, what, verified?) and the restore under way, with the next command to run')
    .action(run((flags, out) => statusCommand(realHost(flags.root), out, backupDir(flags), Number(flags.certWarnDays))));

  program
    .command('rollback')
    .description('Which OS rollback the node needs before a restore (runbook table), and with --apply, doing it (the node reboots)')
    .option('--root <dir>', "where the node's filesystem is", '/')
    .option('--apply', 'run the commands (undeploy, then rpm-ostree rollback -r)', false)
    .option('--yes', 'do not ask for confirmation (required with --apply when not on a terminal)', false)
    .option('--json', 'JSON lines on stdout instead of text', false)
    .action(run((flags, out) => rollbackCommand(realHost(flags.root), out, { apply: Boolean(flags.apply), yes: Boolean(flags.yes) }, terminalConfirm())));

  // TALM's backup Job: handles its own output (a last JSON line always) and its exit code.
  program
    .command('launch')
    .description("The backup Job's entry point: the node's root at --host-root, its commands run chrooted into it")
    .option('--host-root <dir>', "where the node's root is mounted", '/host')
    .option('--dir <dir>', 'the backup dir (default: <host-root>/var/recovery)')
    .option('--json', 'JSON lines on stdout instead of text', false)
    .option('--no-chroot', "run the node's commands from PATH with --root semantics (a sandbox root)")
    .addOption(new Option('--space-margin <GiB>', 'free space to keep beyond the estimated size').default(DEFAULT_MARGIN_GIB).argParser(nonNegative))
    .option('--force', 'back up a degraded cluster too (the backup is marked so), or past a failed space check', false)
    .action(async (flags: { hostRoot: string; dir?: string; json: boolean; chroot: boolean; spaceMargin: number; force: boolean }) => {
      outcome = await launchCommand({ ...flags, spaceMargin: parseSpaceMargin(String(flags.spaceMargin)) }, isSea() ? process.execPath : undefined);
    });

  try {
    await program.parseAsync(translateLegacyArgs(argv), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    outcome = output ? reportFailure(output, error) : EXIT.failure;
  }
  return outcome;
}

function withCommonFlags(command: Command): Command {
  return command
    .option('--root <dir>', "where the node's filesystem is", '/')
    .option('--dir <dir>', 'the backup dir (default: <root>/var/recovery)')
    .option('--json', 'JSON lines on stdout instead of text', false);
}

function backupDir(flags: CommonFlags): string {
  return path.resolve(flags.dir ?? path.join(flags.root, 'var/recovery'));
}

/**
 * Ctrl-C or the Job's SIGTERM during a restore: let the session put SELinux back and record the
 * interruption, then end with 128 + the signal number. A second signal ends at once.
 */
function onInterrupt(handler: (signal: string) => Promise<void>, output: () => Output | undefined): void {
  for (const [signal, code] of [['SIGINT', EXIT.cancelled], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      process.once(signal, () => process.exit(code));
      output()?.reporter.warn(`${signal}: stopping; SELinux is put back to enforcing; run upgrade-recovery restore --resume to continue`);
      void handler(signal).finally(() => process.exit(code));
    });
  }
}

function reportFailure(output: Output, error: unknown): number {
  if (error instanceof RecoveryError) {
    output.result({
      ok: false,
      lines: [`error: ${error.message}`, ...(error.next ? [`Next: ${error.next}`] : [])],
      json: { error: { kind: error.kind, message: error.message, ...(error.next ? { next: error.next } : {}) } },
    });
    return exitCodeFor(error.kind);
  }
  output.result({
    ok: false,
    lines: [`error: ${errorMessage(error)}`, 'This is unexpected: the previous backup is untouched. Please report it with the lines above.'],
    json: { error: { kind: 'failure', message: errorMessage(error) } },
  });
  return EXIT.failure;
}
