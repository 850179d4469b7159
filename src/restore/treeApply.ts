// Makes a live tree identical to its backup following a plan from planTreeRestore:
//   1. stage the entries to write from the backup inside the tree (src/restore/treeStager.ts,
//      started while the plan is still made), check their bytes against the manifest (a mismatch is
//      blamed on the backup or on the copy), and flush them to disk;
//   2. rename each staged entry over its live path (missing directories made first);
//   3. delete what the backup does not have;
//   4. drop the staging dir;
//   5. set owners, modes, labels, ACLs and times where they differ (from step 2 on, for the entries
//      that are not directories), on changed directories and on the tree root (which the staging
//      dir changed; src/restore/treeDirMetadata.ts);
//   6. flush the tree: the step is recorded done only once what it did is on disk.
// Until step 2 the live tree is as it was (a failure removes the staging dir and gives the tree
// root its mtime back), and nothing live is replaced before its replacement is on disk. From step
// 2 on, a kill at any moment leaves a tree that the next plan and apply bring to the same exact
// result: every step only moves entries towards the backup's state.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { errorMessage } from '../core/errors.js';
import { syncFilesystem } from '../host/durable.js';
import { displayPath } from '../tree/pathBytes.js';
import { isEmptyPlan, type TreePlan, type TreePlanInput } from './treePlan.js';
import { fixMetadata, metadataPasses, removeEntries, replaceEntries } from './treeReplace.js';
import { fixDirectoryMetadata } from './treeDirMetadata.js';
import { awaitedLater } from '../core/awaitedLater.js';
import { ensureRoot, Stager, type StagedPaths } from './treeStager.js';

export interface TreeRestoreResult {
  /** Entries brought from the backup (directories created included). */
  written: number;
  /** Of those, copied straight into place because they lie on another mount. */
  copiedInPlace: number;
  removed: number;
  /** Entries whose owner, mode, labels or times were set or compared (changed directories included). */
  metadataSet: number;
  bytes: number;
}

export async function applyTreeRestore(
  host: Host,
  input: TreePlanInput,
  plan: TreePlan,
  reporter: Reporter,
  component: string,
  /** The plan's writes staged as it made them (restoreTree); otherwise they are staged here. */
  stagedDuringPlan?: Stager,
): Promise<TreeRestoreResult> {
  const result: TreeRestoreResult = { written: 0, copiedInPlace: 0, removed: 0, metadataSet: 0, bytes: 0 };
  const stager = stagedDuringPlan ?? new Stager(host, input, reporter, component);
  const { staging } = stager;
  if (isEmptyPlan(plan) && !stager.started && !(await staging.exists())) return result;
  if (plan.blocked.length > 0) {
    const count = plan.blocked.length === 1 ? '1 entry' : `${plan.blocked.length} entries`;
    reporter.warn(`${count} of ${component} left unlike the backup because an excluded path is inside (first: ${displayPath(plan.blocked[0]!)})`);
  }

  let staged: StagedPaths;
  try {
    if (!stagedDuringPlan) for (const write of plan.writes) stager.add(write);
    staged = await stager.finish(plan);
  } catch (error) {
    await bestEffort(reporter, () => stager.abort(error));
    throw error;
  }

  // The metadata of entries nothing else here changes is set meanwhile (see metadataPasses).
  const passes = metadataPasses(host, input, plan);
  const early = awaitedLater(fixMetadata(host, input, passes.early, component));
  try {
    await ensureRoot(host, input.liveTree);
    result.copiedInPlace = await replaceEntries(host, input, plan.writes, staged, component);
    await removeEntries(host, input, plan.removals);
    // This run's staging dir, or a killed run's when this one staged nothing.
    await staging.remove();
    result.metadataSet = (await early) + (await fixDirectoryMetadata(host, input, passes.late, component));
    await syncFilesystem(host.runner, input.liveTree, `flushing the restore of ${component} to disk`);
  } catch (error) {
    await early.catch(() => undefined);
    await bestEffort(reporter, () => staging.remove());
    throw error;
  }
  result.written = plan.writes.length;
  result.removed = plan.removals.length;
  result.bytes = plan.bytes;
  return result;
}

/** Cleanup after a failure: the failure is what the operator must read, a cleanup problem is a warning. */
async function bestEffort(reporter: Reporter, cleanup: () => Promise<void>): Promise<void> {
  try {
    await cleanup();
  } catch (error) {
    reporter.warn(errorMessage(error));
  }
}
