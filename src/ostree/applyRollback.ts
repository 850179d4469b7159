// Carries out a rollback plan one step at a time, reading the status again after each undeploy
// (indexes shift, and the plan is made again from what ostree says now, never from a guess).
// The last step (rpm-ostree rollback -r, or systemctl reboot) reboots the node.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { readDeploymentStatus, type DeploymentStatus } from './deployments.js';
import { planRollback, stepCommand, type RollbackPlan } from './rollbackPlan.js';
import { firstLine } from '../core/firstLine.js';

export interface AppliedRollback {
  /** The commands run, in order. */
  ran: string[];
  /** The plan as it stood before the last command. */
  plan: RollbackPlan;
  /** The last command reboots the node (or asked for it). */
  rebooting: boolean;
}

/** Undeploys plus the rollback: a bound that no real status reaches, against a loop. */
const MAX_STEPS = 16;

export async function applyRollback(host: Host, reporter: Reporter, first: DeploymentStatus): Promise<AppliedRollback> {
  const sysroot = host.root.ostreeSysrootArgs();
  let status = first;
  let plan = planRollback(status.deployments);
  if (plan.steps.some((s) => s.argv[0] === 'rpm-ostree') && status.source !== 'rpm-ostree') {
    throw new RecoveryError('precondition', 'the rollback needs rpm-ostree, which does not run here; nothing was changed', 'run upgrade-recovery rollback --apply on the node itself');
  }
  const ran: string[] = [];
  for (let round = 0; round < MAX_STEPS; round++) {
    if (plan.kind === 'none') return { ran, plan, rebooting: false };
    if (plan.kind === 'blocked') {
      throw new RecoveryError(ran.length ? 'failure' : 'precondition', `${plan.summary}${ran.length ? ` (after: ${ran.join('; ')})` : ''}`);
    }
    const step = plan.steps[0]!;
    const argv = stepCommand(step, sysroot);
    const line = argv.join(' ');
    reporter.stepStart(step.action, line);
    const run = await host.runner.run(argv[0]!, argv.slice(1));
    if (run.exitCode !== 0) {
      reporter.stepEnd(step.action, 'failed');
      throw new RecoveryError(
        'failure',
        `${line} failed (exit ${run.exitCode}): ${firstLine(run.stderr) || firstLine(run.stdout)}${ran.length ? `; already done: ${ran.join('; ')}` : ''}`,
        'upgrade-recovery rollback shows where the deployments stand now',
      );
    }
    reporter.stepEnd(step.action, 'done');
    ran.push(line);
    if (step.action === 'rollback' || step.action === 'reboot') return { ran, plan, rebooting: true };
    const before = status.deployments.length;
    status = await readDeploymentStatus(host, reporter);
    if (status.deployments.length >= before) {
      throw new RecoveryError('failure', `${line} succeeded but ${before} deployment(s) are still listed; stopping`, 'upgrade-recovery rollback shows where the deployments stand now');
    }
    plan = planRollback(status.deployments);
  }
  throw new RecoveryError('failure', `the rollback did not converge in ${MAX_STEPS} steps (ran: ${ran.join('; ')})`);
}

