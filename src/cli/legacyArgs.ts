// The old upgrade-recovery.sh took flags without a subcommand. Map them onto ours so the
// documented procedure still works word for word. Pure: tested as a table.

const SUBCOMMANDS = new Set(['backup', 'restore', 'status', 'verify', 'launch', 'rollback', 'help']);

export function translateLegacyArgs(argv: readonly string[]): string[] {
  const first = argv[0];
  if (first !== undefined && (SUBCOMMANDS.has(first) || first === '--version' || first === '-V' || first === '--help' || first === '-h')) {
    return [...argv];
  }
  if (argv.includes('--take-backup')) return ['backup', ...argv.filter((a) => a !== '--take-backup')];
  // Plain `upgrade-recovery.sh`, or with --resume/--restart/--step/--force/--dir: the restore.
  return ['restore', ...argv];
}
