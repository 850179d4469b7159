// Walks the restore phases against the journal: what is recorded as done is skipped, a step that
// started and did not finish is redone, every step is recorded before and after it runs (fsynced),
// and SELinux is put back to enforcing on every way out, including the next run after a SIGKILL.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError, errorMessage } from '../core/errors.js';
import { acquireLock } from '../host/lock.js';
import { readBootId } from '../host/bootId.js';
import { exists } from '../host/durable.js';
import { BackupLayout } from '../backup/layout.js';
import { explainMissingBackup, readCurrentBackup } from '../backup/store.js';
import { JournalWriter, readJournal, retireJournal } from '../journal/journal.js';
import { JOURNAL_FORMAT, type JournalRecord, type PhaseName } from '../journal/schema.js';
import { isStepDone, journalState, type JournalState } from '../journal/state.js';
import { legacyRecords, parseLegacyProgress } from '../journal/legacyProgress.js';
import { NodeCommands } from './nodeCommands.js';
import { COMPONENT_STEPS, RESTORE_PHASES } from './phases.js';
import { withImageSteps } from '../images/restoreImages.js';
import { HEALTH_STEP } from './healthStep.js';
import { checkBeforeRestore, LOCALHOST_KUBECONFIG } from './preconditions.js';
import type { RestoreBackup, RestoreOptions, RestorePhase, RestoreStep, StepContext } from './context.js';

export type RestoreOutcome =
  | { kind: 'reboot-required'; backupId: string }
  | { kind: 'phase-done'; backupId: string; phase: PhaseName }
  | { kind: 'complete'; backupId: string; journal: string; health?: Record<string, unknown> }
  | { kind: 'dry-run'; backupId: string; lines: string[] };

export class RestoreSession {
  private journal: JournalWriter | undefined;
  /** SELinux was set permissive by this run and not yet put back. */
  private permissive = false;
  private node: NodeCommands | undefined;

  constructor(
    private readonly host: Host,
    private readonly reporter: Reporter,
    private readonly options: RestoreOptions,
  ) {}

  async run(): Promise<RestoreOutcome> {
    const { host, options } = this;
    const layout = new BackupLayout(options.dir);
    if (!(await exists(host.fs, layout.dir))) {
      throw new RecoveryError('precondition', `there is no backup dir ${layout.dir}`, 'name the backup dir with --dir');
    }
    const bootId = await readBootId(host, this.reporter);
    const lock = await acquireLock(host, layout.lock, 'restore', bootId);
    try {
      return await this.runLocked(layout, bootId);
    } finally {
      await this.putSelinuxBack();
      await lock.release();
    }
  }

  /** Called by the CLI on SIGINT/SIGTERM: SELinux back to enforcing, and a line in the journal. */
  async interrupt(signal: string): Promise<void> {
    await this.putSelinuxBack();
    await this.journal?.append({ kind: 'interrupted', at: this.now(), signal }).catch(() => undefined);
  }

  private async runLocked(layout: BackupLayout, bootId: string): Promise<RestoreOutcome> {
    const { host, options, reporter } = this;
    const current = await readCurrentBackup(host, layout);
    if (!current) throw await explainMissingBackup(host, layout, 'upgrade-recovery status');
    let records = await this.readRecords(layout, current.id);
    if (records && !options.dryRun) {
      this.journal = await JournalWriter.open(host, layout.restoreJournal, false);
      // A run killed while SELinux was permissive left it so: that is put right before anything
      // else, even before a --restart abandons that run's journal.
      if (journalState(records).permissiveLeftOver) {
        reporter.warn('a previous run was stopped while SELinux was permissive: setting it back to enforcing first');
        this.permissive = true;
        await this.putSelinuxBack();
      }
      if (options.restart) {
        await this.abandonPrevious(layout);
        records = undefined;
        this.journal = undefined;
      }
    }
    const continuing = records !== undefined;
    if (continuing && !options.resume && !options.step && !options.dryRun) {
      const state = journalState(records!);
      throw new RecoveryError(
        'precondition',
        `a restore of backup ${state.begin.backupId} is already under way (${state.phase ? `phase ${state.phase.name} since ${state.phase.at}` : `started ${state.begin.at}`})`,
        'upgrade-recovery restore --resume to continue it, or --restart to start over',
      );
    }
    if (!continuing && options.resume) {
      throw new RecoveryError('precondition', `no restore is under way in ${layout.dir}`, 'upgrade-recovery restore');
    }
    records ??= [{ kind: 'begin', format: JOURNAL_FORMAT, version: 1, backupId: current.id, at: this.now(), bootId, toolVersion: options.toolVersion }];
    const state = journalState(records);
    if (state.begin.backupId !== current.id) {
      throw new RecoveryError(
        'precondition',
        `the restore under way is of backup ${state.begin.backupId}, but the backup in ${layout.dir} is now ${current.id}`,
        'upgrade-recovery restore --restart to restore the backup that is there now',
      );
    }

    // The walker thread of the first big tree this run restores starts now, while the backup is checked.
    const scanAhead = (steps: readonly RestoreStep[]) => {
      if (steps.some((step) => step.scansTree?.(current))) host.fs.prepareScan?.();
    };
    const runSteps = stepsOfThisRun(RESTORE_PHASES, (phase) => pendingIn(state, phase));
    if (!options.dryRun) scanAhead(runSteps);
    const kubeconfig = options.kubeconfig ?? host.root.path(LOCALHOST_KUBECONFIG);
    const restored = COMPONENT_STEPS.filter(({ phase, step }) => isStepDone(state, phase, step) || legacyDone(state, phase)).map((c) => c.component);
    const backup = await checkBeforeRestore(host, reporter, { options, current, kubeconfig, continuing, restored });
    this.node = new NodeCommands(host, kubeconfig);
    const recorded = new Map(state.data);
    const context: StepContext = { host, reporter, options, backup, node: this.node, recorded: (step) => recorded.get(step) };
    // With saved images (backup --images): one load step per image in the cluster phase.
    const phases = await withImageSteps(host, backup, RESTORE_PHASES);

    if (options.dryRun) return { kind: 'dry-run', backupId: backup.id, lines: await this.preview(state, context, phases) };
    this.journal ??= await JournalWriter.create(host, layout.restoreJournal, records[0]!);

    let ranPhase = false;
    for (const phase of phases) {
      const pending = pendingIn(state, phase);
      if (pending.length === 0) continue;
      if (options.step && ranPhase) return { kind: 'phase-done', backupId: backup.id, phase: previousPhase(phase.name) };
      if (phase.name === 'reboot') {
        this.checkRebooted(state, bootId);
      } else if (state.phase?.name !== phase.name) {
        await this.record({ kind: 'phase', phase: phase.name, at: this.now(), bootId });
      }
      reporter.info(`== ${phase.title}`);
      // A later big tree of this run gets its thread while the steps before it run.
      await this.runPhase(phase, pending, context, bootId, recorded, (step) => {
        const at = runSteps.indexOf(step);
        if (at !== -1) scanAhead(runSteps.slice(at + 1));
      });
      ranPhase = phase.name !== 'reboot';
      if (phase.name === 'files') {
        await this.putSelinuxBack();
        // The reboot phase is entered now, in this boot: the next run checks that the boot changed.
        await this.record({ kind: 'phase', phase: 'reboot', at: this.now(), bootId });
        return { kind: 'reboot-required', backupId: backup.id };
      }
    }
    await this.putSelinuxBack();
    await this.record({ kind: 'complete', at: this.now() });
    const kept = await retireJournal(host, layout.restoreJournal, 'done', host.clock.now());
    const health = recorded.get(HEALTH_STEP);
    return { kind: 'complete', backupId: backup.id, journal: kept ?? layout.restoreJournal, ...(health ? { health } : {}) };
  }

  private async runPhase(
    phase: RestorePhase,
    pending: RestorePhase['steps'],
    context: StepContext,
    bootId: string,
    recorded: Map<string, Record<string, unknown>>,
    beforeStep: (step: RestoreStep) => void,
  ): Promise<void> {
    const { reporter } = this;
    for (const step of pending) {
      beforeStep(step);
      if (step.permissive && !this.permissive) await this.setPermissive();
      if (!step.permissive && this.permissive) await this.putSelinuxBack();
      await this.record({ kind: 'stepStart', phase: phase.name, step: step.id, at: this.now(), bootId });
      reporter.stepStart(step.id, step.title);
      let data: Record<string, unknown> | void;
      try {
        data = await step.run(context);
      } catch (error) {
        reporter.stepEnd(step.id, 'failed');
        await this.record({ kind: 'failed', phase: phase.name, step: step.id, at: this.now(), message: errorMessage(error) });
        throw stoppedAt(step.title, error);
      }
      if (data) recorded.set(step.id, data);
      await this.record({ kind: 'stepEnd', phase: phase.name, step: step.id, at: this.now(), ...(data ? { data } : {}) });
      reporter.stepEnd(step.id, 'done');
    }
    await this.putSelinuxBack();
  }

  private checkRebooted(state: JournalState, bootId: string): void {
    const requestedIn = state.phase?.name === 'reboot' ? state.phase.bootId : '';
    if (requestedIn === '') {
      this.reporter.warn('the journal does not say in which boot the reboot was asked for (a restore begun by the old script): make sure the node rebooted');
      return;
    }
    if (requestedIn !== bootId) return;
    if (this.options.force) {
      this.reporter.warn('the node has not rebooted since the files were restored; going on because of --force');
      return;
    }
    throw new RecoveryError(
      'precondition',
      `the node has not rebooted since the files were restored (boot ${bootId}); the cluster phase needs a fresh boot`,
      'systemctl reboot, then: upgrade-recovery restore --resume',
    );
  }

  private async preview(state: JournalState, context: StepContext, phases: readonly RestorePhase[]): Promise<string[]> {
    const lines: string[] = [];
    for (const phase of phases) {
      const pending = pendingIn(state, phase);
      if (pending.length === 0) continue;
      lines.push(`${phase.title}:`);
      for (const step of pending) {
        lines.push(`  ${step.id}: ${step.title}`);
        for (const line of await step.preview(context)) lines.push(`    ${line}`);
      }
    }
    return lines;
  }

  /** The journal, or one made from the old script's progress file; undefined when none is under way. */
  private async readRecords(layout: BackupLayout, backupId: string): Promise<JournalRecord[] | undefined> {
    const contents = await readJournal(this.host, layout.restoreJournal);
    if (contents) {
      if (contents.tornTail) {
        this.reporter.warn('the last line of the journal was cut short by a crash; the step it recorded is redone');
        if (!this.options.dryRun) await JournalWriter.open(this.host, layout.restoreJournal, true);
      }
      return contents.records;
    }
    const progress = await this.host.fs.readFile(layout.legacyProgress, 'utf8').catch(() => undefined);
    if (progress === undefined) return undefined;
    const parsed = parseLegacyProgress(progress);
    if (!parsed.ok) {
      throw new RecoveryError('precondition', `the old script's progress file ${layout.legacyProgress} is damaged (${parsed.reason})`, 'look at it; to start over: upgrade-recovery restore --restart');
    }
    this.reporter.info(`Continuing the restore the old script began (its progress file says: ${parsed.stages.join(', ')})`);
    const at = this.now();
    const records: JournalRecord[] = [
      { kind: 'begin', format: JOURNAL_FORMAT, version: 1, backupId, at, bootId: '', toolVersion: this.options.toolVersion, importedFrom: parsed.stages },
      ...legacyRecords(parsed.phasesDone, at),
    ];
    if (!this.options.dryRun) {
      const writer = await JournalWriter.create(this.host, layout.restoreJournal, records[0]!);
      for (const record of records.slice(1)) await writer.append(record);
      // Kept under another name: the journal now says everything the progress file said.
      await this.host.fs.rename(layout.legacyProgress, `${layout.legacyProgress}.imported`);
    }
    return records;
  }

  private async abandonPrevious(layout: BackupLayout): Promise<void> {
    const kept = await retireJournal(this.host, layout.restoreJournal, 'abandoned', this.host.clock.now());
    if (kept) this.reporter.info(`The previous restore's journal is kept as ${kept}`);
    if (await exists(this.host.fs, layout.legacyProgress)) {
      await this.host.fs.rename(layout.legacyProgress, `${layout.legacyProgress}.abandoned`);
    }
  }

  private async setPermissive(): Promise<void> {
    // Recorded before the change: a run killed right after it must still be undone by the next.
    await this.record({ kind: 'selinux', mode: 'permissive', at: this.now() });
    this.permissive = true;
    await this.node!.setenforce(0);
  }

  private async putSelinuxBack(): Promise<void> {
    if (!this.permissive) return;
    try {
      await (this.node ?? new NodeCommands(this.host, '')).setenforce(1);
      this.permissive = false;
      await this.record({ kind: 'selinux', mode: 'enforcing', at: this.now() });
    } catch (error) {
      this.reporter.warn(`could not put SELinux back to enforcing: ${errorMessage(error)}; run: setenforce 1`);
    }
  }

  private async record(record: JournalRecord): Promise<void> {
    await this.journal?.append(record);
  }

  private now(): string {
    return this.host.clock.now().toISOString();
  }
}

function legacyDone(state: JournalState, phase: PhaseName): boolean {
  return isStepDone(state, phase, `legacy-${phase}`);
}

function previousPhase(name: PhaseName): PhaseName {
  const index = RESTORE_PHASES.findIndex((p) => p.name === name);
  return RESTORE_PHASES[Math.max(0, index - 1)]!.name;
}

/** A step's failure, as the operator needs it: which step, why, and that --resume redoes it. */
function stoppedAt(title: string, error: unknown): RecoveryError {
  const cause = error instanceof RecoveryError ? error : undefined;
  return new RecoveryError(
    'interrupted',
    `${title}: ${errorMessage(error)}`,
    cause?.next ?? 'fix the cause, then: upgrade-recovery restore --resume (the step is redone)',
    { cause: error },
  );
}

export type { RestoreBackup };

function pendingIn(state: JournalState, phase: RestorePhase): RestoreStep[] {
  return phase.steps.filter((s) => !isStepDone(state, phase.name, s.id) && !legacyDone(state, phase.name));
}

/** The steps a run may take, in order: the files phase ends a run (the reboot comes next). */
export function stepsOfThisRun(phases: readonly RestorePhase[], pending: (phase: RestorePhase) => RestoreStep[]): RestoreStep[] {
  const files = phases.findIndex((phase) => phase.name === 'files' && pending(phase).length > 0);
  return phases.slice(0, files === -1 ? phases.length : files + 1).flatMap(pending);
}
