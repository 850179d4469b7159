// One tree of the node (/usr/local, /etc, /var/lib/kubelet) brought back to its backup copy, as a
// restore step: plan from the manifest, then apply. Redoing it after a crash plans again from what
// is on disk now, so it converges on the same exact result.
import type { RestoreBackup, StepContext } from './context.js';
import { planTreeRestore, describePlan, type TreePlanInput } from './treePlan.js';
import { applyTreeRestore } from './treeApply.js';
import { Stager } from './treeStager.js';
import { errorMessage } from '../core/errors.js';
import { resolveNodePath } from '../host/resolveNodePath.js';
import { walksInOtherThread } from './treeWalk.js';

type TreeName = 'etc' | 'local' | 'kubelet';

async function planInput({ host, backup }: StepContext, tree: TreeName, nodePath: string): Promise<TreePlanInput> {
  return {
    backupTree: backup.paths.tree(tree),
    manifest: backup.paths.manifest(tree),
    // On RHCOS /usr/local is a link to /var/usrlocal: the tree is where the link leads.
    liveTree: await resolveNodePath(host, nodePath),
    // etc.exclude.list names /etc paths only, as in the old script's rsync --exclude-from.
    excluded: tree === 'etc' ? backup.excluded : [],
    expectedEntries: expectedEntries(backup, tree),
    checkedDigest: backup.checkedManifests?.get(tree),
  };
}

function expectedEntries(backup: Pick<RestoreBackup, 'summary'>, tree: TreeName): number {
  return backup.summary.components.find((c) => c.name === tree)?.entries ?? 0;
}

/** Whether the restore of `tree` walks it in another thread (see LiveWalk). */
export function scansTree(backup: Pick<RestoreBackup, 'summary'>, tree: TreeName): boolean {
  return walksInOtherThread(expectedEntries(backup, tree));
}

export async function restoreTree(context: StepContext, tree: TreeName, nodePath: string): Promise<Record<string, unknown>> {
  const { host, reporter } = context;
  const input = await planInput(context, tree, nodePath);
  await host.fs.mkdir(input.liveTree, { recursive: true });
  const progress = { files: 0, bytes: 0 };
  // What the plan writes is staged as soon as it is decided: tar makes those files on the other
  // core while the plan still reads the tree.
  const stager = new Stager(host, input, reporter, tree);
  let plan;
  try {
    plan = await planTreeRestore(
      host,
      input,
      ({ files, bytes }) => {
        progress.files += files;
        progress.bytes += bytes;
        reporter.progress({ component: tree, activity: 'scan', ...progress });
      },
      (write, recorded) => stager.add(write, recorded),
      { xattrsInMetadataPass: true },
    );
  } catch (error) {
    await stager.abort(error).catch((cleanup: unknown) => reporter.warn(errorMessage(cleanup)));
    throw error;
  }
  const result = await applyTreeRestore(host, input, plan, reporter, tree, stager);
  reporter.info(`${nodePath}: ${describePlan(plan, 0).join('; ')}`);
  return { ...result };
}

export async function previewTreeRestore(context: StepContext, tree: TreeName, nodePath: string): Promise<string[]> {
  const input = await planInput(context, tree, nodePath);
  const plan = await planTreeRestore(context.host, input);
  return describePlan(plan, 10);
}
