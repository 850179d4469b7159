// `launch`: the entry point of TALM's backup Job on a spoke. The node's root is mounted at /host;
// its own commands run chrooted into it (the runner decides, see src/host/chrootRunner.ts). In
// the old Job's order: leave at once if a restore is under way, make the backup dir (0700), get
// the node root ready, install the tool, take the backup. Unlike the old Job nothing is deleted
// first: the previous backup stays the current one until the new one is complete, and a run
// killed at the Job's deadline leaves a partial backup that the next run resumes.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError, type FailureKind } from '../core/errors.js';
import { acquireLock, type HeldLock } from '../host/lock.js';
import { readBootId } from '../host/bootId.js';
import { BackupLayout } from '../backup/layout.js';
import { installTool } from '../backup/store.js';
import { refuseDuringRestore, runBackup, type BackupResult } from '../backup/runBackup.js';
import { prepareHost, repairOstreeBooted, type PreparedHost } from './hostSetup.js';

export interface LaunchOptions {
  /** The backup dir as this process sees it; must be inside the host root. */
  dir: string;
  spaceMargin: number;
  /** As `backup --force`: a degraded cluster, or too little space, is a warning. */
  force?: boolean;
  toolVersion: string;
  /** The running single binary; undefined when run from source (nothing to install). */
  selfExecutable?: string;
}

export type LaunchOutcome =
  | { kind: 'backup-complete'; backup: BackupResult }
  /** A restore is under way on this node: the Job's pod came back with the restored cluster. */
  | { kind: 'restore-in-progress'; message: string };

/** How TALM reports a spoke's backup (reference §1), from how the Job ended. */
export type TalmOutcome = 'Succeeded' | 'UnrecoverableError' | 'BackupTimeout';

/** `ok` is a normal end (backup taken, or a restore under way); a signal is the Job's deadline. */
export function talmOutcome(end: 'ok' | FailureKind | 'signal'): TalmOutcome {
  if (end === 'ok') return 'Succeeded';
  return end === 'signal' ? 'BackupTimeout' : 'UnrecoverableError';
}

export class LaunchSession {
  private prepared?: PreparedHost;
  private lock?: HeldLock;
  /** Aborted by interrupt: the backup starts no further step (the result is written already). */
  private readonly stop = new AbortController();

  constructor(
    private readonly host: Host,
    private readonly reporter: Reporter,
    private readonly options: LaunchOptions,
  ) {}

  async run(): Promise<LaunchOutcome> {
    const { host, reporter, options } = this;
    const layout = new BackupLayout(path.resolve(options.dir));
    const inside = path.relative(host.root.dir, layout.dir);
    if (inside.startsWith('..') || path.isAbsolute(inside)) {
      // cluster-backup.sh runs chrooted: it can only write where the node's own paths lead.
      throw new RecoveryError('usage', `the backup dir ${layout.dir} is not inside the host root ${host.root.dir}`);
    }
    try {
      await refuseDuringRestore(host, layout);
    } catch (error) {
      if (error instanceof RecoveryError && error.kind === 'precondition') return { kind: 'restore-in-progress', message: error.message };
      throw error;
    }
    // The Job's hostPath (DirectoryOrCreate) makes it 0755; it holds etcd's keys and secrets.
    await host.fs.mkdir(layout.dir, { recursive: true, mode: 0o700 });
    await host.fs.chmod(layout.dir, 0o700);
    const bootId = await readBootId(host, reporter);
    // Held across the host changes too: a second launch must not move /run/ostree-booted under us.
    this.lock = await acquireLock(host, layout.lock, 'launch', bootId);
    try {
      await repairOstreeBooted(host, reporter);
      reporter.stepStart('host', 'Prepare the node root for its own commands (/dev/null, /dev/shm, /sysroot, /run/ostree-booted)');
      this.prepared = await prepareHost(host, reporter).catch((error: unknown) => {
        reporter.stepEnd('host', 'failed');
        throw error;
      });
      reporter.stepEnd('host', 'done');
      if (options.selfExecutable) {
        // Before the backup, as the old Job wrote its script first: the tool is on the node even
        // if the backup fails. The seal links it to the backup's own copy afterwards.
        reporter.stepStart('install', `Install upgrade-recovery and upgrade-recovery.sh into ${layout.dir}`);
        await installTool(host, layout, options.selfExecutable);
        reporter.stepEnd('install', 'done');
      }
      const backup = await runBackup(host, reporter, {
        dir: layout.dir,
        force: options.force ?? false,
        fresh: false,
        spaceMargin: options.spaceMargin,
        toolVersion: options.toolVersion,
        lockHeld: true,
        stop: this.stop.signal,
        ...(options.selfExecutable ? { selfExecutable: options.selfExecutable } : {}),
      });
      return { kind: 'backup-complete', backup };
    } finally {
      await this.cleanUp();
    }
  }

  /**
   * SIGTERM (the Job's deadline) or Ctrl-C: no further backup step, and the node's files put back
   * before the process ends. (Without the stop, the steps went on meanwhile: the seal could make
   * the backup current after the lock was let go.)
   */
  interrupt(): Promise<void> {
    this.stop.abort();
    return this.cleanUp();
  }

  private async cleanUp(): Promise<void> {
    const prepared = this.prepared;
    const lock = this.lock;
    this.prepared = undefined;
    this.lock = undefined;
    try {
      await prepared?.undo();
      // A signal that lands inside prepareHost, after the move and before `prepared` is set: the
      // lock is ours, so whatever lies aside is ours to put back.
      if (lock) await repairOstreeBooted(this.host, this.reporter);
    } finally {
      await lock?.release();
    }
  }
}
