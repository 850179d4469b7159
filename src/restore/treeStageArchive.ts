// Stages the entries a restore writes by streaming a pax archive of them into one `tar -x`: each
// entry is staged under a flat name (its index in the plan) in one directory of the staging dir,
// with the owner, mode, nanosecond mtime and xattrs (SELinux label, ACLs, capabilities...) its
// manifest line records, and the content of the backup's copy, hashed as it is read: a backup file
// that does not match its manifest stops the staging before anything live is touched.
//
// One process for thousands of entries, each file read once, and no staging directories: cp and
// rsync lay out the copies as in the tree, and on a tree whose changes are scattered (kubelet's pod
// directories) making and removing those directories cost more than copying the files.
import { createHash, hash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import type { CommandResult, Host, RunOptions } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { ManifestLines } from '../manifest/reader.js';
import type { ManifestEntry } from '../manifest/schema.js';
import { joinPath } from '../tree/pathBytes.js';
import { endOfArchive, memberHeader, padding, paxXattrs, type PaxMember, type PaxMemberType } from '../tree/paxArchive.js';
import { backupDamaged, type RestoreProgress } from './treeChecks.js';
import { kindOf, recordedTarget } from './treeCompare.js';
import type { PlannedWrite, TreePlanInput } from './treePlan.js';

/** Bytes gathered before one write to tar: headers and small files go together. */
const BATCH = 512 * 1024;
/** A big file's content goes to tar in pieces of this size. */
const PIECE = 1024 * 1024;
/** Files up to this size are read straight into the current batch and hashed in one call. */
const SMALL = BATCH / 4;

export interface ArchiveItem {
  /** Index of the write in the plan: its flat name in the staging. */
  index: number;
  write: PlannedWrite;
  /** For a later name of a hard-link group: the index of the name that carries the content. */
  linkTo?: number;
  /** Its manifest entry, when the plan handed it on; otherwise its line is read again. */
  entry?: ManifestEntry;
}

/**
 * Streams `items` into `tar -x -C dir`. Throws the backup's own damage (a file missing, of another
 * size, or whose bytes do not hash to the manifest's) rather than tar's complaint about the archive
 * cut short; any other failure of tar as one line.
 */
export async function stageByArchive(host: Host, input: TreePlanInput, dir: string, items: AsyncIterable<ArchiveItem> | Iterable<ArchiveItem>, progress: RestoreProgress, what: string): Promise<void> {
  let failure: unknown;
  const stream = archiveStream(host, input, items, progress, (error) => (failure = error));
  const run = await runTarExtract(host, dir, stream);
  if (failure !== undefined) throw failure;
  throwIfTarFailed(run, what);
}

/** One `tar -x` of a pax archive into `dir`, every owner, mode, nanosecond mtime and xattr as the archive has it. */
export function runTarExtract(host: Host, dir: string, archive: NonNullable<RunOptions['input']>): Promise<CommandResult> {
  return host.runner.run(
    'tar',
    ['-x', '-f', '-', '-C', dir, '--xattrs', '--xattrs-include=*', '--numeric-owner', '--same-owner', '--same-permissions', '--warning=no-timestamp'],
    // The C locale: names and link targets are taken as the bytes they are.
    { input: archive, env: { LC_ALL: 'C' } },
  );
}

/** A failure of runTarExtract as one line. */
export function throwIfTarFailed(run: CommandResult, what: string): void {
  if (run.exitCode === 0) return;
  if (run.exitCode === 127) throw new RecoveryError('failure', `${what}: tar is not available (package tar)`);
  if (/No space left on device/.test(run.stderr)) throw new RecoveryError('failure', `${what}: No space left on device`);
  const cause = run.stderr.trim().split('\n').find((l) => l.trim() !== '') ?? (run.signal ? `killed by ${run.signal}` : 'no message');
  throw new RecoveryError('failure', `${what}: tar failed (exit ${run.exitCode}): ${cause}`);
}

/**
 * The archive, in pieces, as the items come (a plan still under way adds them); `onError` learns
 * of a failure before the stream stops with it.
 */
async function* archiveStream(
  host: Host,
  input: TreePlanInput,
  items: AsyncIterable<ArchiveItem> | Iterable<ArchiveItem>,
  progress: RestoreProgress,
  onError: (error: unknown) => void,
): AsyncGenerator<Buffer> {
  const out = new Pieces();
  const lines = new ManifestLines(host.fs, input.manifest);
  try {
    const backup = Buffer.from(input.backupTree);
    for await (const item of items) {
      const entry = item.entry ?? lines.at(item.write.line, item.write.rel);
      const member: PaxMember = {
        name: Buffer.from(String(item.index)),
        type: memberType(item),
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        size: 0,
        mtimeNs: BigInt(entry.mtimeNs),
        xattrs: paxXattrs(entry.xattrs),
      };
      if (item.linkTo !== undefined) member.linkName = Buffer.from(String(item.linkTo));
      if (member.type === 'symlink') member.linkName = recordedTarget(entry);
      if (member.type === 'char' || member.type === 'block') member.rdev = entry.rdev ?? 0;
      if (member.type !== 'file') {
        yield* out.put(memberHeader(member));
        progress.add(1, 0);
        continue;
      }
      member.size = entry.size;
      yield* out.put(memberHeader(member));
      yield* fileContent(host, joinPath(backup, item.write.rel), item.write, out, progress);
      yield* out.put(padding(member.size));
      progress.add(1, 0);
    }
    yield* out.put(endOfArchive());
    yield* out.flush();
  } catch (error) {
    onError(error);
    throw error;
  } finally {
    lines.close();
  }
}

function memberType(item: ArchiveItem): PaxMemberType {
  if (item.linkTo !== undefined) return 'link';
  const type = kindOf(item.write.type);
  if (type === 'file' || type === 'symlink' || type === 'char' || type === 'block' || type === 'fifo') return type;
  throw new Error(`a ${type} cannot be staged through the archive`);
}

/** The backup copy's bytes, hashed as they are read; exactly the manifest's size, or it is damaged. */
function* fileContent(host: Host, source: Buffer, write: PlannedWrite, out: Pieces, progress: RestoreProgress): Generator<Buffer> {
  const { sync } = host.fs;
  let fd: number;
  try {
    fd = sync.openSync(source, O_RDONLY_NOFOLLOW);
  } catch (error) {
    if (['ENOENT', 'ELOOP', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) throw backupDamaged(source);
    throw new RecoveryError('failure', `cannot read ${source.toString()}: ${(error as Error).message}`);
  }
  try {
    const stat = sync.fstatSync(fd);
    if (!stat.isFile() || stat.size !== write.size) throw backupDamaged(source);
    const read = (into: Buffer, at: number, length: number, position: number) => {
      const n = sync.readSync(fd, into, at, length, position);
      // Shorter than it said a moment ago: changed under us.
      if (n === 0) throw backupDamaged(source);
      return n;
    };
    let sha256: string;
    if (write.size <= SMALL) {
      if (!out.fits(write.size)) yield* out.flush();
      const small = out.room();
      for (let done = 0; done < write.size; ) done += read(small.buffer, small.at + done, write.size - done, done);
      sha256 = hash('sha256', small.buffer.subarray(small.at, small.at + write.size));
      out.commit(write.size);
      progress.add(0, write.size);
    } else {
      yield* out.flush();
      const digest = createHash('sha256');
      for (let done = 0; done < write.size; ) {
        const piece = Buffer.allocUnsafe(Math.min(PIECE, write.size - done));
        for (let filled = 0; filled < piece.length; ) filled += read(piece, filled, piece.length - filled, done + filled);
        digest.update(piece);
        done += piece.length;
        progress.add(0, piece.length);
        yield piece;
      }
      sha256 = digest.digest('hex');
    }
    if (write.sha256 !== undefined && sha256 !== write.sha256) throw backupDamaged(source);
  } finally {
    sync.closeSync(fd);
  }
}

const O_RDONLY_NOFOLLOW = 0o400000;

/**
 * The archive gathered into pieces of BATCH bytes for tar's stdin. A piece handed over is never
 * written to again: the stream may still hold it.
 */
class Pieces {
  private buffer = Buffer.allocUnsafe(BATCH);
  private fill = 0;

  *put(bytes: Buffer): Generator<Buffer> {
    if (this.fill + bytes.length > BATCH) yield* this.flush();
    if (bytes.length >= BATCH) {
      yield bytes;
      return;
    }
    bytes.copy(this.buffer, this.fill);
    this.fill += bytes.length;
  }

  fits(size: number): boolean {
    return this.fill + size <= BATCH;
  }

  /** Where bytes read straight into the current piece go (then `commit` them). */
  room(): { buffer: Buffer; at: number } {
    return { buffer: this.buffer, at: this.fill };
  }

  commit(size: number): void {
    this.fill += size;
  }

  *flush(): Generator<Buffer> {
    if (this.fill === 0) return;
    yield this.buffer.subarray(0, this.fill);
    this.buffer = Buffer.allocUnsafe(BATCH);
    this.fill = 0;
  }
}

/** A regular file of the backup whose copy has holes (`-S` keeps them where the archive would not). */
export function hasHoles(stat: Pick<BigIntStats, 'size' | 'blocks'> | { size: number; blocks: number }): boolean {
  return mayHaveHoles(Number(stat.size)) && BigInt(stat.blocks) * 512n < BigInt(stat.size);
}

/** Whether a file of `size` bytes can have holes at all: one of a block or less may live inside its inode, with no blocks. */
export function mayHaveHoles(size: number): boolean {
  return size > 4096;
}
