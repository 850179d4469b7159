import { RestoreSession, type RestoreOutcome } from '../../restore/runRestore.js';
import type { RestoreOptions } from '../../restore/context.js';
import type { Host } from '../../host/ports.js';
import type { Output } from '../output.js';
import type { FailureKind } from '../../core/errors.js';
import { describeRestoreHealth, nextAfterRestore, restoreHealthSchema } from '../../restore/healthStep.js';

/**
 * Runs a restore. `onSignal` lets the CLI hand SIGINT/SIGTERM to the session, which puts SELinux
 * back to enforcing and records the interruption before the process ends.
 */
export async function restoreCommand(
  host: Host,
  output: Output,
  options: RestoreOptions,
  onSignal: (handler: (signal: string) => Promise<void>) => void,
): Promise<FailureKind | undefined> {
  const session = new RestoreSession(host, output.reporter, options);
  onSignal((signal) => session.interrupt(signal));
  const outcome = await session.run();
  // A complete restore ends with the health report: exit 0 only when the node is back.
  const health = outcome.kind === 'complete' ? restoreHealthSchema.safeParse(outcome.health) : undefined;
  if (health?.success && outcome.kind === 'complete') {
    const { health: _raw, ...rest } = outcome;
    output.result({
      ok: health.data.healthy,
      lines: [
        ...describeRestoreHealth(health.data),
        `Restore of backup ${outcome.backupId} complete; the journal is kept as ${outcome.journal}`,
        `Next: ${nextAfterRestore(health.data)}`,
      ],
      json: { command: 'restore', ...rest, healthy: health.data.healthy, health: health.data, next: nextAfterRestore(health.data) },
    });
    return health.data.healthy ? undefined : 'unhealthy';
  }
  output.result({ ok: true, lines: describeOutcome(outcome), json: { command: 'restore', ...outcome } });
  return undefined;
}

function describeOutcome(outcome: RestoreOutcome): string[] {
  switch (outcome.kind) {
    case 'dry-run':
      return [...outcome.lines, `Dry run of the restore of backup ${outcome.backupId}: nothing was changed`, 'Next: upgrade-recovery restore'];
    case 'reboot-required':
      return [`The files of backup ${outcome.backupId} are restored; the cluster phase needs a reboot`, 'Next: systemctl reboot, then: upgrade-recovery restore --resume'];
    case 'phase-done':
      return [`Phase ${outcome.phase} done`, 'Next: upgrade-recovery restore --step (one more phase) or --resume (all the rest)'];
    case 'complete':
      return [
        `Restore of backup ${outcome.backupId} complete; the journal is kept as ${outcome.journal}`,
        'Next: check the cluster: oc get clusterversion,nodes,clusteroperator',
      ];
  }
}
