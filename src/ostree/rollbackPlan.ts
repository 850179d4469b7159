// Decides what to do about the OS deployments before a restore: the table of the runbook
// (reference section 4) as a function of the status, with the exact commands in order.
// Pure: the `rollback` command shows or runs the plan, `restore` refuses with it.
import { describeDeployment, type Deployment } from './status.js';

export type RollbackStep =
  /** `ostree admin undeploy <index>`: the index as it will be when this step runs. */
  | { action: 'undeploy'; index: number; deployment: DeploymentRef; argv: string[] }
  /** A staged deployment is finished only at shutdown: rpm-ostree discards it. */
  | { action: 'discard-staged'; deployment: DeploymentRef; argv: string[] }
  | { action: 'rollback'; argv: string[] }
  | { action: 'reboot'; argv: string[] };

export interface DeploymentRef {
  osname: string;
  checksum: string;
  serial: number;
  version?: string;
}

export type RollbackKind =
  /** Row 1: the booted deployment is the pinned one. */
  | 'none'
  /** Row 2: the pinned deployment is the rollback target. */
  | 'rollback'
  /** Row 3: unpinned standbys stand between the booted and the pinned deployment. */
  | 'undeploy-then-rollback'
  /** The booted deployment is pinned, but an unpinned one ahead of it would boot next. */
  | 'discard-pending'
  /** The pinned deployment is already the next to boot (a rollback done, the reboot not yet). */
  | 'reboot'
  /** Nothing safe can be decided: no deployment, or none pinned. */
  | 'blocked';

export interface RollbackPlan {
  kind: RollbackKind;
  /** What the status shows and why this is the plan, in one or two sentences. */
  summary: string;
  booted?: DeploymentRef;
  /** The deployment the node must boot: the pinned one. */
  target?: DeploymentRef;
  /** No deployment is marked booted (a sysroot that is not the running system): the first is taken. */
  bootedAssumed: boolean;
  steps: RollbackStep[];
  /** Whether the last step reboots the node. */
  reboots: boolean;
}

export const ROLLBACK_ARGV = ['rpm-ostree', 'rollback', '-r'];
export const DISCARD_STAGED_ARGV = ['rpm-ostree', 'cleanup', '-p'];
export const REBOOT_ARGV = ['systemctl', 'reboot'];

export function planRollback(deployments: readonly Deployment[]): RollbackPlan {
  if (deployments.length === 0) {
    return blocked('ostree lists no deployment: this does not look like an ostree-booted node', false);
  }
  const marked = deployments.find((d) => d.booted);
  const bootedAssumed = !marked;
  // Only a sysroot that is not the running system has no booted marker; the backup keeps
  // deployment 0 there too, so the two agree.
  const booted = marked ?? deployments[0]!;
  // Rollback and pending only ever concern the booted deployment's osname (ostree's rule).
  const same = deployments.filter((d) => d.osname === booted.osname);
  const ahead = same.filter((d) => d.index < booted.index);
  const behind = same.filter((d) => d.index > booted.index);
  const base = { booted: ref(booted), bootedAssumed };

  if (booted.pinned) {
    if (ahead.length === 0) {
      return { ...base, kind: 'none', target: ref(booted), steps: [], reboots: false, summary: `the booted deployment ${describeDeployment(booted)} is pinned: the OS is the one the backup was taken on, no rollback needed` };
    }
    const pinnedAhead = ahead.find((d) => d.pinned);
    if (pinnedAhead) {
      return { ...blocked(`the booted deployment ${describeDeployment(booted)} is pinned, but so is ${describeDeployment(pinnedAhead)}, which boots next: decide which one the backup was taken on (its backup.json names it)`, bootedAssumed), booted: ref(booted) };
    }
    return {
      ...base,
      kind: 'discard-pending',
      target: ref(booted),
      steps: removals(deployments, ahead),
      reboots: false,
      summary: `the booted deployment ${describeDeployment(booted)} is pinned, but ${ahead.map(describeDeployment).join(', ')} would boot next (a restore reboots): remove it, no rollback needed`,
    };
  }

  const pinnedAhead = ahead.find((d) => d.pinned);
  if (pinnedAhead) {
    // `rpm-ostree rollback` would undo that pending deployment, i.e. go the wrong way: the pinned
    // one boots next already once the unpinned ones ahead of it are gone.
    const before = ahead.filter((d) => d.index < pinnedAhead.index);
    return {
      ...base,
      kind: 'reboot',
      target: ref(pinnedAhead),
      steps: [...removals(deployments, before), { action: 'reboot', argv: REBOOT_ARGV }],
      reboots: true,
      summary: `the booted deployment ${describeDeployment(booted)} is not pinned, and the pinned ${describeDeployment(pinnedAhead)} ${before.length ? 'comes next once the deployments ahead of it are removed' : 'is already the next to boot (a rollback was done, the reboot not yet)'}`,
    };
  }

  const target = behind.find((d) => d.pinned);
  if (!target) {
    return {
      ...blocked(`the booted deployment ${describeDeployment(booted)} is not pinned and no other ${booted.osname} deployment is: there is no deployment known to be the one the backup was taken on (the backup pins it)`, bootedAssumed),
      booted: ref(booted),
    };
  }
  // Pending deployments go first (rpm-ostree rollback would undo them instead of rolling back),
  // then the unpinned standbys before the pinned one, so that it becomes the rollback target.
  const between = behind.filter((d) => d.index < target.index);
  const remove = [...ahead, ...between];
  return {
    ...base,
    kind: remove.length ? 'undeploy-then-rollback' : 'rollback',
    target: ref(target),
    steps: [...removals(deployments, remove), { action: 'rollback', argv: ROLLBACK_ARGV }],
    reboots: true,
    summary: remove.length
      ? `the booted deployment ${describeDeployment(booted)} is not pinned, and the pinned ${describeDeployment(target)} is not the rollback target: ${remove.map(describeDeployment).join(', ')} ${remove.length > 1 ? 'come' : 'comes'} first`
      : `the booted deployment ${describeDeployment(booted)} is not pinned: the node runs the upgraded OS; the pinned ${describeDeployment(target)} is the rollback target`,
  };
}

/** The steps that remove `remove`, with each undeploy index as it is when that step runs. */
function removals(deployments: readonly Deployment[], remove: readonly Deployment[]): RollbackStep[] {
  const steps: RollbackStep[] = [];
  let list = [...deployments];
  // A staged deployment is not in the bootloader yet: it is discarded, not undeployed, and it
  // does not count in the indexes the undeploys take (ostree lists it first).
  for (const d of remove.filter((d) => d.flags.includes('staged'))) {
    steps.push({ action: 'discard-staged', deployment: ref(d), argv: DISCARD_STAGED_ARGV });
    list = list.filter((x) => x !== d);
  }
  for (const d of remove.filter((d) => !d.flags.includes('staged'))) {
    const index = list.indexOf(d);
    steps.push({ action: 'undeploy', index, deployment: ref(d), argv: ['ostree', 'admin', 'undeploy', String(index)] });
    list.splice(index, 1);
  }
  return steps;
}

function blocked(summary: string, bootedAssumed: boolean): RollbackPlan {
  return { kind: 'blocked', summary, bootedAssumed, steps: [], reboots: false };
}

function ref(d: Deployment): DeploymentRef {
  return { osname: d.osname, checksum: d.checksum, serial: d.serial, ...(d.version ? { version: d.version } : {}) };
}

/** The command line of a step; `sysrootArgs` (`--sysroot=<root>`) go to ostree and rpm-ostree only. */
export function stepCommand(step: RollbackStep, sysrootArgs: readonly string[] = []): string[] {
  return step.action === 'reboot' ? step.argv : [...step.argv, ...sysrootArgs];
}

/** The commands to type, one per step, in order. */
export function planCommands(plan: RollbackPlan, sysrootArgs: readonly string[] = []): string[] {
  return plan.steps.map((step) => stepCommand(step, sysrootArgs).join(' '));
}

/** `ostree admin undeploy 1, then rpm-ostree rollback -r`: the steps in one line, for messages. */
export function planInOneLine(plan: RollbackPlan, sysrootArgs: readonly string[] = []): string {
  return planCommands(plan, sysrootArgs).join(', then ');
}
