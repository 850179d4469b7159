// What every restore step gets: the ports, the backup it restores, the node's commands and the
// operator's options. Steps are small functions of this, like the runbook lines they replace.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import type { GenerationPaths } from '../backup/layout.js';
import type { BackupSummary } from '../backup/summary.js';
import type { NodeCommands } from './nodeCommands.js';
import type { PhaseName } from '../journal/schema.js';

export interface RestoreTimeouts {
  /** How long each control-plane container may take to restart (old: 20 minutes). */
  containerMs: number;
  /** How long each forced redeployment may take (old: 20 minutes). */
  redeployMs: number;
  /** Time between two polls (old: 10 seconds). */
  pollMs: number;
  /** How long the last step waits for the cluster to be healthy (default: src/restore/healthStep.ts). */
  healthMs?: number;
}

export const OLD_TIMEOUTS: RestoreTimeouts = { containerMs: 20 * 60_000, redeployMs: 20 * 60_000, pollMs: 10_000 };

export interface RestoreOptions {
  /** The backup dir, as this process sees it. */
  dir: string;
  resume: boolean;
  restart: boolean;
  /** Run one phase, then stop. */
  step: boolean;
  /** Skip the checks that would refuse (pinned deployment, backup verification, reboot). */
  force: boolean;
  dryRun: boolean;
  /** Check every byte of the backup before starting, not only structure and sizes. */
  verifyData: boolean;
  /** KUBECONFIG from the environment, if set (the CLI reads it; the core does not). */
  kubeconfig?: string;
  timeouts: RestoreTimeouts;
  toolVersion: string;
  /** Warn when the backed-up kubelet certificates expire within this many days (default 30). */
  certWarnDays?: number;
}

export interface RestoreBackup {
  id: string;
  paths: GenerationPaths;
  summary: BackupSummary;
  /** /etc paths (relative) the restore leaves alone. */
  excluded: string[];
  /**
   * The digest of each component's manifest lines as this run's check of the backup read them,
   * every line checked whole: none under --force, nor for a tree a resumed run does not check again.
   */
  checkedManifests?: ReadonlyMap<string, string>;
}

export interface StepContext {
  host: Host;
  reporter: Reporter;
  options: RestoreOptions;
  backup: RestoreBackup;
  node: NodeCommands;
  /** Data recorded by earlier finished steps (e.g. container ids noted before the etcd restore). */
  recorded(step: string): Record<string, unknown> | undefined;
}

export interface RestoreStep {
  id: string;
  title: string;
  /** Runs with SELinux permissive, as the old script's setenforce 0 ... setenforce 1 window. */
  permissive: boolean;
  /** Returns data for the journal, which later steps read back after a crash or the reboot. */
  run(context: StepContext): Promise<Record<string, unknown> | void>;
  /** What --dry-run prints instead of running the step. */
  preview(context: StepContext): Promise<string[]>;
  /** Whether it walks a tree big enough for another thread: that thread is started ahead of it. */
  scansTree?(backup: Pick<RestoreBackup, 'summary'>): boolean;
}

export interface RestorePhase {
  name: PhaseName;
  title: string;
  steps: RestoreStep[];
}
