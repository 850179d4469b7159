// What a tired operator needs to know in a few lines: the backup (when, what, how big, verified?),
// a partial backup if one is pending, and the restore under way (phase, step, since when, what
// went wrong last) with the one command to run next.
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { readBootId } from '../host/bootId.js';
import { BackupLayout } from '../backup/layout.js';
import { findPartials, readCurrentBackup } from '../backup/store.js';
import { readJournal } from '../journal/journal.js';
import { journalState } from '../journal/state.js';
import { parseLegacyProgress } from '../journal/legacyProgress.js';
import { readVerdictRecord, type VerdictRecord } from '../verify/verdictRecord.js';
import { RecordingReporter } from '../core/reporter.js';
import type { PhaseName } from '../journal/schema.js';
import { readIdentityStatus, type IdentityStatus } from '../identity/statusView.js';
import { DEFAULT_CERT_WARN_DAYS } from '../identity/certificates.js';

export interface NodeStatus {
  dir: string;
  backup?: {
    id: string;
    createdAt: string;
    completedAt: string;
    toolVersion: string;
    entries: number;
    bytes: number;
    components: Array<{ name: string; entries: number; bytes: number }>;
    snapshot: string;
    warnings: string[];
    verified?: VerdictRecord;
    /** Saved container images (backup --images). */
    images?: { count: number; bytes: number };
    /** Node, cluster, deployment, health when taken, certificate expiry (src/identity/statusView.ts). */
    identity?: IdentityStatus;
  };
  /** A backup that was interrupted: the next `backup` resumes or discards it. */
  partial?: { id: string; startedAt?: string; done: string[] };
  restore?: {
    backupId: string;
    startedAt: string;
    phase?: PhaseName;
    since?: string;
    /** The step that started and did not finish, if any. */
    unfinished?: string;
    stepsDone: number;
    lastFailure?: { step: string; at: string; message: string };
    rebootPending: boolean;
    /** The boot in which the files phase asked for the reboot ('' when the old script began it). */
    rebootRequestedIn?: string;
    fromOldScript: boolean;
  };
  /** The damaged journal or progress file, when there is one. */
  problem?: string;
  next: string;
}

export async function readNodeStatus(host: Host, dir: string, certWarnDays = DEFAULT_CERT_WARN_DAYS): Promise<NodeStatus> {
  const layout = new BackupLayout(dir);
  const status: NodeStatus = { dir, next: '' };
  const current = await readCurrentBackup(host, layout).catch((error: unknown) => {
    status.problem = (error as Error).message;
    return undefined;
  });
  if (current) {
    const { summary } = current;
    const verified = await readVerdictRecord(host, current.paths);
    status.backup = {
      id: summary.id,
      createdAt: summary.createdAt,
      completedAt: summary.completedAt,
      toolVersion: summary.toolVersion,
      entries: summary.components.reduce((n, c) => n + c.entries, 0),
      bytes: summary.components.reduce((n, c) => n + c.bytes, 0),
      components: summary.components.map((c) => ({ name: c.name, entries: c.entries, bytes: c.bytes })),
      snapshot: summary.cluster.snapshot,
      warnings: summary.warnings,
      ...(verified ? { verified } : {}),
      ...(summary.images ? { images: { count: summary.images.count, bytes: summary.images.bytes } } : {}),
      identity: await readIdentityStatus(host, current.paths.dir, summary, certWarnDays),
    };
  }
  const partial = (await findPartials(host, layout)).at(-1);
  if (partial) {
    status.partial = { id: partial.id, ...(partial.state ? { startedAt: partial.state.startedAt } : {}), done: Object.keys(partial.state?.results ?? {}) };
  }
  try {
    await readRestore(host, layout, status);
  } catch (error) {
    if (!(error instanceof RecoveryError)) throw error;
    status.problem = error.message;
  }
  status.next = await nextCommand(host, status);
  return status;
}

async function readRestore(host: Host, layout: BackupLayout, status: NodeStatus): Promise<void> {
  const contents = await readJournal(host, layout.restoreJournal);
  if (contents) {
    const state = journalState(contents.records);
    status.restore = {
      backupId: state.begin.backupId,
      startedAt: state.begin.at,
      ...(state.phase ? { phase: state.phase.name, since: state.phase.at } : {}),
      ...(state.unfinished ? { unfinished: state.unfinished.step } : {}),
      stepsDone: [...state.done.values()].reduce((n, steps) => n + steps.size, 0),
      ...(state.lastFailure ? { lastFailure: { step: state.lastFailure.step, at: state.lastFailure.at, message: state.lastFailure.message } } : {}),
      rebootPending: state.phase?.name === 'reboot',
      ...(state.phase?.name === 'reboot' ? { rebootRequestedIn: state.phase.bootId } : {}),
      fromOldScript: state.begin.importedFrom !== undefined,
    };
    return;
  }
  const progress = await host.fs.readFile(layout.legacyProgress, 'utf8').catch(() => undefined);
  if (progress === undefined) return;
  const parsed = parseLegacyProgress(progress);
  if (!parsed.ok) throw new RecoveryError('precondition', `the old script's progress file is damaged: ${parsed.reason}`);
  const last = parsed.phasesDone.at(-1);
  status.restore = {
    backupId: status.backup?.id ?? 'unknown',
    startedAt: 'unknown (begun by the old script)',
    ...(last ? { phase: last } : {}),
    stepsDone: parsed.phasesDone.length,
    rebootPending: last === 'files',
    fromOldScript: true,
  };
}

async function nextCommand(host: Host, status: NodeStatus): Promise<string> {
  if (status.problem) return 'upgrade-recovery restore --restart only once you have read the problem above; or take a new backup if the node is healthy';
  const restore = status.restore;
  if (restore) {
    if (restore.rebootPending) {
      const requestedIn = restore.rebootRequestedIn;
      const bootId = await readBootId(host, new RecordingReporter()).catch(() => undefined);
      if (requestedIn && bootId === requestedIn) return 'systemctl reboot, then: upgrade-recovery restore --resume';
    }
    return 'upgrade-recovery restore --resume';
  }
  if (!status.backup) return status.partial ? 'upgrade-recovery backup (resumes the partial backup)' : 'upgrade-recovery backup';
  if (!status.backup.verified) return `upgrade-recovery verify --data (the backup has not been verified yet)`;
  return status.backup.verified.ok ? 'nothing: the backup is ready; after a failed upgrade: upgrade-recovery restore' : 'take a new backup: upgrade-recovery backup (this one is damaged)';
}
