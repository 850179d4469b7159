// The content check of a restore: every staged copy must hash to its manifest line before it takes
// a live file's place (a damaged backup, or a copy damaged on its way, never replaces a working file).
import type { Clock, Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { hashFile } from '../tree/hashFile.js';
import { displayPath, joinPath } from '../tree/pathBytes.js';
import type { PlannedWrite } from './treePlan.js';

const PROGRESS_EVERY_MS = 500;

/**
 * Progress of one activity over the plan's files, at most one event per tick. The totals are
 * unknown while the plan still adds to them (staging starts before the plan ends): set them then.
 */
export class RestoreProgress {
  private files = 0;
  private bytes = 0;
  private lastAt = 0;

  constructor(
    private readonly reporter: Reporter,
    private readonly clock: Clock,
    private readonly component: string,
    private readonly activity: 'copy' | 'hash',
    private totalFiles?: number,
    private totalBytes?: number,
  ) {}

  setTotals(files: number, bytes: number): void {
    this.totalFiles = files;
    this.totalBytes = bytes;
  }

  add(files: number, bytes: number): void {
    this.files = Math.min(this.totalFiles ?? Infinity, this.files + files);
    this.bytes = Math.min(this.totalBytes ?? Infinity, this.bytes + bytes);
    const now = this.clock.now().getTime();
    if (now - this.lastAt >= PROGRESS_EVERY_MS) this.emit(now);
  }

  finish(): void {
    this.files = this.totalFiles ?? this.files;
    this.bytes = this.totalBytes ?? this.bytes;
    this.emit(this.clock.now().getTime());
  }

  private emit(now: number): void {
    this.lastAt = now;
    this.reporter.progress({
      component: this.component,
      activity: this.activity,
      files: this.files,
      bytes: this.bytes,
      ...(this.totalFiles !== undefined ? { totalFiles: this.totalFiles } : {}),
      ...(this.totalBytes !== undefined ? { totalBytes: this.totalBytes } : {}),
    });
  }
}

/** The writes whose content is checked: one name per inode. */
export function checkedWrites(writes: readonly PlannedWrite[]): PlannedWrite[] {
  return writes.filter((w) => w.sha256 !== undefined);
}

/**
 * Hashes each staged copy, the bytes that will take a live file's place, and throws at the first
 * that differs from its manifest line. Only then is the backup's own copy hashed, to say where the
 * damage is.
 */
export async function checkCopies(
  host: Host,
  backupTree: string,
  /** Made as they are checked: a path for each of tens of thousands at once would all be held. */
  copies: Iterable<{ write: PlannedWrite; copy: Buffer }>,
  progress: RestoreProgress,
): Promise<void> {
  // One at a time: hashing reads synchronously (src/tree/hashFile.ts), so parallel calls would
  // only interleave on the same thread.
  for (const { write, copy } of copies) {
    const sha256 = await hashCopy(host, copy, write, (bytes) => progress.add(0, bytes));
    progress.add(1, 0);
    if (sha256 === write.sha256) continue;
    const original = joinPath(Buffer.from(backupTree), write.rel);
    const backupIsRight = (await hashCopy(host, original, write, () => undefined)) === write.sha256;
    throw backupDamaged(original, backupIsRight ? 'as copied for the restore' : undefined);
  }
  progress.finish();
}

/** A backup file whose bytes (or those of its copy, `when` so) are not the ones its manifest recorded. */
export function backupDamaged(original: Buffer, when?: string): RecoveryError {
  return new RecoveryError('failure', `the backup copy of ${displayPath(original)} does not match its manifest${when ? ` (${when})` : ''}: the backup is damaged`, 'upgrade-recovery verify --data');
}

/** The copy's SHA-256; a copy that is missing, or not a regular file of the recorded size, matches no hash. */
async function hashCopy(host: Host, copy: Buffer, write: PlannedWrite, onBytes: (n: number) => void): Promise<string> {
  let stat;
  try {
    stat = host.fs.sync.lstatSync(copy);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new RecoveryError('failure', `cannot read ${displayPath(copy)}: ${(error as Error).message}`);
  }
  // Opening a fifo would hang; a wrong size needs no hash to be wrong.
  if (!stat.isFile() || stat.size !== write.size) return 'not a file of the recorded size';
  return hashFile(host.fs, copy, onBytes);
}
