// `rollback`: which row of the runbook's OS-rollback table applies, the exact commands, and with
// --apply, running them (the node reboots at the end). The decision is src/ostree/rollbackPlan.ts.
import { createInterface } from 'node:readline/promises';
import { RecoveryError, type FailureKind } from '../../core/errors.js';
import type { Host } from '../../host/ports.js';
import { readDeploymentStatus } from '../../ostree/deployments.js';
import { applyRollback } from '../../ostree/applyRollback.js';
import { planCommands, planRollback, type RollbackPlan } from '../../ostree/rollbackPlan.js';
import { describeDeployment, type Deployment } from '../../ostree/status.js';
import type { Output } from '../output.js';

export interface RollbackFlags {
  apply: boolean;
  yes: boolean;
}

/** Asks a yes/no question; undefined when there is no terminal to ask on. */
export type Confirm = ((question: string) => Promise<boolean>) | undefined;

export async function rollbackCommand(host: Host, output: Output, flags: RollbackFlags, confirm: Confirm): Promise<FailureKind | undefined> {
  const { reporter } = output;
  const status = await readDeploymentStatus(host, reporter);
  const plan = planRollback(status.deployments);
  if (plan.bootedAssumed) reporter.warn('no deployment is marked booted (a sysroot that is not the running system): deployment 0 is taken as the booted one');
  const sysroot = host.root.ostreeSysrootArgs();
  const commands = planCommands(plan, sysroot);
  const rootFlag = host.root.isHostRoot ? '' : ` --root ${host.root.dir}`;
  const json = { command: 'rollback', source: status.source, ...plan, commands, deployments: status.deployments };
  const describe = [...listDeployments(status.source, status.deployments), `${capitalise(plan.summary)}.`, ...todo(plan, commands)];

  if (plan.kind === 'blocked') {
    output.result({ ok: false, lines: [...describe, 'Next: check ostree admin status against the deployment in the backup\'s backup.json; nothing can be decided automatically'], json: { ...json, next: 'ostree admin status' } });
    return 'precondition';
  }
  if (!flags.apply || plan.kind === 'none') {
    const next = plan.kind === 'none' ? 'nothing to roll back; upgrade-recovery restore when the node must be restored' : `upgrade-recovery rollback --apply${rootFlag} (runs the command${commands.length > 1 ? 's' : ''} above${plan.reboots ? '; the node reboots' : ''})`;
    output.result({ ok: true, lines: [...describe, `Next: ${next}`], json: { ...json, next } });
    return undefined;
  }

  if (!flags.yes) {
    if (!confirm) {
      throw new RecoveryError('precondition', `--apply changes the OS deployments${plan.reboots ? ' and reboots the node' : ''}: without a terminal to confirm on, add --yes; nothing was changed`, `upgrade-recovery rollback --apply --yes${rootFlag}`);
    }
    for (const line of describe) reporter.info(line);
    if (!(await confirm(`Run ${commands.length === 1 ? 'this command' : `these ${commands.length} commands`}${plan.reboots ? ' (the node reboots)' : ''}? [y/N] `))) {
      output.result({ ok: false, lines: ['Nothing was changed.', `Next: ${commands.join(', then ')} by hand, or upgrade-recovery rollback --apply${rootFlag} again`], json: { ...json, declined: true } });
      return 'precondition';
    }
  }
  const applied = await applyRollback(host, reporter, status);
  const next = applied.rebooting
    ? `after the reboot: upgrade-recovery rollback${rootFlag} (it should say nothing to do), then upgrade-recovery restore`
    : 'upgrade-recovery restore';
  output.result({
    ok: true,
    lines: [
      `Ran: ${applied.ran.join('; ') || 'nothing'}`,
      applied.rebooting ? `The node reboots into ${applied.plan.target ? describeDeployment(applied.plan.target) : 'the pinned deployment'}.` : 'The booted deployment is the pinned one and nothing else boots next.',
      `Next: ${next}`,
    ],
    json: { ...json, applied: applied.ran, rebooting: applied.rebooting, next },
  });
  return undefined;
}

function listDeployments(source: string, deployments: readonly Deployment[]): string[] {
  return [
    `Deployments (${source === 'rpm-ostree' ? 'rpm-ostree status' : 'ostree admin status'}):`,
    ...deployments.map((d) => {
      const marks = [d.pinned ? 'pinned' : '', ...d.flags].filter(Boolean).join(', ');
      return `  ${d.index} ${d.booted ? '*' : ' '} ${describeDeployment(d)}${marks ? `  [${marks}]` : ''}`;
    }),
  ];
}

function todo(plan: RollbackPlan, commands: string[]): string[] {
  if (commands.length === 0) return [];
  return [`To do${plan.reboots ? ' (the last command reboots the node)' : ''}:`, ...commands.map((c) => `  ${c}`)];
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A y/N question on the terminal (stderr, so that --json stdout stays clean); none without one. */
export function terminalConfirm(): Confirm {
  if (!process.stdin.isTTY) return undefined;
  return async (question) => {
    const readline = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await readline.question(question)).trim());
    } finally {
      readline.close();
    }
  };
}
