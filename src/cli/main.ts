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
  upgrade-recovery --take-backup --dir /var/recovery   the old script's flags still work

Exit codes:
  0 done   1 failed   2 bad arguments   3 a check refused to start (space, lock, restore under way)
  4 stopped part-way, run again to resume   130 interrupted by the operator`;

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
      output = createOutput(flags.json);
      try {
        const kind = await work(flags, output);
        if (kind) outcome = exitCodeFor(kind);
      } catch (error) {
        outcome = reportFailure(output, error);
      } finally {
        await output.close();
      }
    };

  withCommonFlags(program.command('backup'))
    .description('Pin the booted deployment and back up etcd, the static pod resources, /etc, /usr/local, /var/lib/kubelet')
    .option('--force', 'go on even when the free-space check fails', false)
    .option('--fresh', 'discard an interrupted backup instead of resuming it', false)
    .addOption(
      new Option('--space-margin <GiB>', 'free space to keep beyond the estimated size').default(DEFAULT_MARGIN_GIB).argParser(parseNumberOption),
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
          },
          isSea() ? process.execPath : undefined,
        ),
      ),
    );

  withCommonFlags(program.command('verify'))
    .description('Check the backup against its manifest: structure and sizes, or every byte with --data')
    .option('--data', 'read and hash every file', false)
    .action(run((flags, out) => verifyCommand(realHost(flags.root), out, { dir: backupDir(flags), data: Boolean(flags.data) })));

  program
    .command('restore', { hidden: true })
    .allowUnknownOption()
    .action(() => {
      process.stderr.write('upgrade-recovery: restore is not available in this version yet; use the old procedure for now\n');
      outcome = EXIT.usage;
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

function parseNumberOption(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) throw new CommanderErrorForValue(`"${value}" is not a non-negative number`);
  return number;
}

class CommanderErrorForValue extends CommanderError {
  constructor(message: string) {
    super(2, 'commander.invalidArgument', message);
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
