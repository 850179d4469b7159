// Makes a live tree identical to its backup following a plan from planTreeRestore:
//   1. stage the entries to write from the backup inside the tree (an archive streamed into tar
//      for most, cp for big files), check their bytes against the manifest (a mismatch is blamed on
//      the backup or on the copy), and flush them to disk;
//   2. rename each staged entry over its live path (missing directories made first);
//   3. delete what the backup does not have;
//   4. drop the staging dir;
//   5. set owners, modes, labels, ACLs and times where they differ, on changed directories and on
//      the tree root (which the staging dir changed);
//   6. flush the tree: the step is recorded done only once what it did is on disk.
// Until step 2 the live tree is as it was (a failure removes the staging dir and gives the tree
// root its mtime back), and nothing live is replaced before its replacement is on disk. From step
// 2 on, a kill at any moment leaves a tree that the next plan and apply bring to the same exact
// result: every step only moves entries towards the backup's state.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { errorMessage, RecoveryError } from '../core/errors.js';
import { syncFilesystem } from '../host/durable.js';
import { displayPath } from '../tree/pathBytes.js';
import { checkCopies, RestoreProgress } from './treeChecks.js';
import { isEmptyPlan, type PlannedWrite, type TreePlan, type TreePlanInput } from './treePlan.js';
import { fixMetadata, removeEntries, replaceEntries } from './treeReplace.js';
import { hasHoles, stageByArchive, type ArchiveItem } from './treeStageArchive.js';
import { COPY_ALONE_MIN_BYTES, setSocketXattrs, stageByCopy } from './treeStageCopy.js';
import { ManifestLines } from '../manifest/reader.js';
import type { ManifestEntry } from '../manifest/schema.js';
import { joinPath } from '../tree/pathBytes.js';
import { Staging } from './treeStaging.js';

export interface TreeRestoreResult {
  /** Entries brought from the backup (directories created included). */
  written: number;
  /** Of those, copied straight into place because they lie on another mount. */
  copiedInPlace: number;
  removed: number;
  /** Entries whose owner, mode, labels or times were set (changed directories included). */
  metadataSet: number;
  bytes: number;
}

export async function applyTreeRestore(
  host: Host,
  input: TreePlanInput,
  plan: TreePlan,
  reporter: Reporter,
  component: string,
): Promise<TreeRestoreResult> {
  const result: TreeRestoreResult = { written: 0, copiedInPlace: 0, removed: 0, metadataSet: 0, bytes: 0 };
  const staging = new Staging(host, input.liveTree);
  if (isEmptyPlan(plan) && !(await staging.exists())) return result;
  if (plan.blocked.length > 0) {
    const count = plan.blocked.length === 1 ? '1 entry' : `${plan.blocked.length} entries`;
    reporter.warn(`${count} of ${component} left unlike the backup because an excluded path is inside (first: ${displayPath(plan.blocked[0]!)})`);
  }

  await ensureRoot(host, input.liveTree);
  // A killed apply's leftovers go first: they must not be taken for this run's staged entries.
  await staging.remove();
  const rootBefore = await mtimeNs(host, input.liveTree);
  let staged: Array<Buffer | undefined>;
  try {
    staged = await stageWrites(host, input, plan, staging, reporter, component);
    await syncFilesystem(host.runner, staging.dir, `flushing the restore of ${component} to disk`);
  } catch (error) {
    await bestEffort(reporter, () => staging.remove());
    await bestEffort(reporter, () => setMtime(host, input.liveTree, rootBefore));
    throw error;
  }

  try {
    result.copiedInPlace = await replaceEntries(host, input, plan.writes, staged, component);
    await removeEntries(host, input, plan.removals);
    await staging.remove();
    result.metadataSet = await fixMetadata(host, input, plan, component);
    await syncFilesystem(host.runner, input.liveTree, `flushing the restore of ${component} to disk`);
  } catch (error) {
    await bestEffort(reporter, () => staging.remove());
    throw error;
  }
  result.written = plan.writes.length;
  result.removed = plan.removals.length;
  result.bytes = plan.bytes;
  return result;
}

/**
 * Step 1: stages every entry to write (directories aside: they are made in place) and returns
 * where each one is, by its index in the plan. Most go through one archive streamed into tar
 * (src/restore/treeStageArchive.ts), which gives each the manifest's owner, mode, times and xattrs
 * and hashes the backup's bytes as it reads them; big files, files with holes and sockets are
 * copied one by one by cp (src/restore/treeStageCopy.ts), the other names of their hard-link group
 * linked to them. Last, the staged copies are read back and hashed (a big file streamed through
 * the archive was hashed as it was read, and is not read twice): a copy damaged on its way never
 * replaces a live file.
 */
export async function stageWrites(host: Host, input: TreePlanInput, plan: TreePlan, staging: Staging, reporter: Reporter, component: string): Promise<Array<Buffer | undefined>> {
  await staging.create();
  const staged: Array<Buffer | undefined> = plan.writes.map(() => undefined);
  const entries = plan.writes.flatMap((write, index) => (write.type === 'dir' ? [] : [{ write, index }]));
  if (entries.length === 0) return staged;
  const what = `cannot stage the restore of ${component} in ${input.liveTree}`;
  const { archived, alone, linked } = routeWrites(host, input, entries);
  const copied = new RestoreProgress(reporter, host.clock, component, 'copy', entries.length, plan.bytes);
  if (archived.length > 0) await stageByArchive(host, input, staging.flat, archived, copied, what);
  const backup = Buffer.from(input.backupTree);
  for (const { write, index } of alone) {
    const target = staging.byIndex(index).toString('latin1');
    await stageByCopy(host, joinPath(backup, write.rel), target, what);
    if (write.type === 'socket') await setSocketXattrs(host, target, manifestLine(host, input, write).xattrs ?? {}, what);
    copied.add(1, write.sha256 ? write.size : 0);
  }
  for (const { index, linkTo } of linked) {
    host.fs.sync.linkSync(staging.byIndex(linkTo), staging.byIndex(index));
    copied.add(1, 0);
  }
  copied.finish();
  for (const { index } of entries) staged[index] = staging.byIndex(index);
  const reread = [...archived.filter(({ write }) => write.size < COPY_ALONE_MIN_BYTES), ...alone].filter(({ write }) => write.sha256 !== undefined);
  const checked = new RestoreProgress(reporter, host.clock, component, 'hash', reread.length, bytesOf(reread.map(({ write }) => write)));
  await checkCopies(host, input.backupTree, reread.map(({ write, index }) => ({ write, copy: staging.byIndex(index) })), checked);
  return staged;
}

interface Indexed {
  write: PlannedWrite;
  index: number;
}

/**
 * How each entry is staged: by cp alone (big files, files with holes in the backup, sockets), as
 * a hard link to the name of its group that carries the content (when that one was copied alone),
 * or through the archive (everything else, later names of a group as links inside it).
 */
function routeWrites(host: Host, input: TreePlanInput, entries: readonly Indexed[]) {
  const archived: ArchiveItem[] = [];
  const alone: Indexed[] = [];
  const linked: Array<{ index: number; linkTo: number }> = [];
  /** Group -> where the name that carries its content went. */
  const carriers = new Map<string, { index: number; alone: boolean }>();
  const backup = Buffer.from(input.backupTree);
  for (const { write, index } of entries) {
    const carrier = write.group === undefined ? undefined : carriers.get(write.group);
    if (carrier && write.sha256 === undefined) {
      if (carrier.alone) linked.push({ index, linkTo: carrier.index });
      else archived.push({ write, index, linkTo: carrier.index });
      continue;
    }
    const byCopy = write.type === 'socket' || (write.sha256 !== undefined && (write.size >= COPY_ALONE_MIN_BYTES || holesInBackup(host, joinPath(backup, write.rel))));
    if (byCopy) alone.push({ write, index });
    else archived.push({ write, index });
    if (write.group !== undefined) carriers.set(write.group, { index, alone: byCopy });
  }
  return { archived, alone, linked };
}

function manifestLine(host: Host, input: TreePlanInput, write: PlannedWrite): ManifestEntry {
  const lines = new ManifestLines(host.fs, input.manifest);
  try {
    return lines.at(write.line, write.rel);
  } finally {
    lines.close();
  }
}

function holesInBackup(host: Host, source: Buffer): boolean {
  try {
    const stat = host.fs.sync.lstatSync(source);
    return stat.isFile() && hasHoles(stat);
  } catch {
    // Missing: staging it says so, naming the damaged backup.
    return false;
  }
}

function bytesOf(writes: readonly PlannedWrite[]): number {
  return writes.reduce((sum, w) => sum + (w.sha256 ? w.size : 0), 0);
}

/** Cleanup after a failure: the failure is what the operator must read, a cleanup problem is a warning. */
async function bestEffort(reporter: Reporter, cleanup: () => Promise<void>): Promise<void> {
  try {
    await cleanup();
  } catch (error) {
    reporter.warn(errorMessage(error));
  }
}

/** A tree deleted altogether is made again (its metadata comes last, as for any directory). */
async function ensureRoot(host: Host, liveTree: string): Promise<void> {
  try {
    await host.fs.mkdir(liveTree, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new RecoveryError('failure', `cannot create ${liveTree}: ${(error as Error).message}`);
  }
}

async function mtimeNs(host: Host, dir: string): Promise<string> {
  return (await host.fs.lstat(dir, { bigint: true })).mtimeNs.toString();
}

/** Node's utimes takes float seconds (not nanoseconds exact); GNU touch takes `@seconds.nanoseconds`. */
async function setMtime(host: Host, dir: string, ns: string): Promise<void> {
  const value = BigInt(ns);
  const abs = value < 0n ? -value : value;
  const stamp = `@${value < 0n ? '-' : ''}${abs / 1_000_000_000n}.${String(abs % 1_000_000_000n).padStart(9, '0')}`;
  const run = await host.runner.run('touch', ['-h', '-m', '-d', stamp, '--', dir]);
  if (run.exitCode !== 0) throw new RecoveryError('failure', `cannot set the mtime of ${dir}: ${run.stderr.trim()}`);
}
