// Makes a live tree identical to its backup following a plan from planTreeRestore:
//   1. (nothing to do before staging: the backup's bytes are checked where they are used, below)
//   2. stage the entries to write from the backup inside the tree (big files by a copy of our own
//      that hashes what it writes, the rest by one rsync), and check the staged bytes against the
//      manifest (a mismatch is then blamed on the backup or on the copy);
//   3. rename each staged entry over its live path (missing directories made first);
//   4. delete what the backup does not have;
//   5. set owners, modes, labels, ACLs and times where they differ, and on changed directories;
//   6. drop the staging dir.
// Until step 3 the live tree is as it was (a failure removes the staging dir and gives the tree
// root its mtime back). From step 3 on, a kill at any moment leaves a tree that the next plan and
// apply bring to the same exact result: every step only moves entries towards the backup's state.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { errorMessage, RecoveryError } from '../core/errors.js';
import { displayPath, joinPath } from '../tree/pathBytes.js';
import { backupDamaged, checkCopies, checkedWrites, RestoreProgress } from './treeChecks.js';
import { isEmptyPlan, type PlannedWrite, type TreePlan, type TreePlanInput } from './treePlan.js';
import { fixMetadata, removeEntries, replaceEntries } from './treeReplace.js';
import { rsyncList } from './treeRsync.js';
import { Staging } from './treeStaging.js';
import { canCopyHashed, copyHashed } from './treeHashedCopy.js';

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
  try {
    await stageWrites(host, input, plan, staging, reporter, component);
  } catch (error) {
    await bestEffort(reporter, () => staging.remove());
    await bestEffort(reporter, () => setMtime(host, input.liveTree, rootBefore));
    throw error;
  }

  try {
    result.copiedInPlace = await replaceEntries(host, input, plan.writes, staging, component);
    await removeEntries(host, input, plan.removals);
    result.metadataSet = await fixMetadata(host, input, plan, staging, component);
    await staging.remove();
    // Creating and removing the staging dir changed the root's mtime after the metadata pass set it.
    await setMtime(host, input.liveTree, plan.rootMtimeNs);
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
 * Step 2: copies every entry to write (directories aside: they are made in place) from the backup
 * into the staging dir: big files that are their inode's only name by copyHashed, then one rsync
 * for their metadata; the rest with one rsync (-S keeps holes, -H keeps link groups as one inode),
 * whose staged bytes are then checked against the manifest.
 */
export async function stageWrites(host: Host, input: TreePlanInput, plan: TreePlan, staging: Staging, reporter: Reporter, component: string): Promise<void> {
  await staging.create();
  const entries = plan.writes.filter((w) => w.type !== 'dir');
  if (entries.length === 0) return;
  const copied = new RestoreProgress(reporter, host.clock, component, 'copy', entries.length, plan.bytes);
  const checked = hashProgress(host, reporter, component, plan);
  const what = `cannot stage the restore of ${component} in ${input.liveTree}`;
  const backup = Buffer.from(input.backupTree);
  // Big files first, by our own copy that hashes as it goes (src/restore/treeHashedCopy.ts).
  const ours: PlannedWrite[] = [];
  for (const write of entries) {
    const source = joinPath(backup, write.rel);
    if (!write.sha256 || !(await canCopyHashed(host.fs, source, write.size))) continue;
    const sha256 = await copyHashed(host.fs, source, staging.staged(write.rel), what, (bytes) => {
      copied.add(0, bytes);
      checked.add(0, bytes);
    });
    // What was read from the backup is what was written: a mismatch is the backup's own.
    if (sha256 !== write.sha256) throw backupDamaged(source);
    copied.add(1, 0);
    checked.add(1, 0);
    ours.push(write);
  }
  const copiedByUs = new Set(ours);
  const rest = entries.filter((w) => !copiedByUs.has(w));
  if (ours.length > 0) {
    // Their owner, mode, labels, ACLs and mtime, before they go anywhere.
    await rsyncList(host, {
      flags: ['-aAX', '--size-only', '--existing'],
      from: input.backupTree,
      to: staging.tree,
      list: await staging.writeList('copied', ours.map((w) => w.rel)),
      what,
    });
  }
  if (rest.length > 0) {
    await rsyncList(host, {
      flags: ['-aAXHS'],
      from: input.backupTree,
      to: staging.tree,
      list: await staging.writeList('staged', rest.map((w) => w.rel)),
      what,
      onEntry: (bytes) => copied.add(1, bytes),
    });
  }
  copied.finish();
  await checkCopies(host, staging.tree, input.backupTree, rest, checked);
}

/** Cleanup after a failure: the failure is what the operator must read, a cleanup problem is a warning. */
async function bestEffort(reporter: Reporter, cleanup: () => Promise<void>): Promise<void> {
  try {
    await cleanup();
  } catch (error) {
    reporter.warn(errorMessage(error));
  }
}

function hashProgress(host: Host, reporter: Reporter, component: string, plan: TreePlan): RestoreProgress {
  return new RestoreProgress(reporter, host.clock, component, 'hash', checkedWrites(plan.writes).length, plan.bytes);
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
