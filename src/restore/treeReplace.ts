// The steps of an apply that change the live tree. Each is safe to kill and redo: a rename puts a
// whole entry in place or nothing, and whatever a killed run left half done (a directory deleted
// but not yet replaced, a link group half renamed, a metadata pass cut short) is one more
// difference that the next plan finds and the next apply makes right.
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { displayPath, joinPath } from '../tree/pathBytes.js';
import { compareWalkOrder, ROOT_REL } from '../tree/walk.js';
import { breathe } from '../tree/breathe.js';
import type { PlannedWrite, TreePlan, TreePlanInput } from './treePlan.js';
import { rsyncList } from './treeRsync.js';
import type { StagedPaths } from './treeStager.js';

/**
 * Puts the staged entries in place, in walk order so that a directory exists before what it holds.
 * Returns the entries that had to be copied in place because a mount point lies between the
 * staging dir and them (rename cannot cross filesystems).
 */
export async function replaceEntries(host: Host, input: TreePlanInput, writes: readonly PlannedWrite[], staged: StagedPaths, component: string): Promise<number> {
  const live = Buffer.from(input.liveTree);
  const acrossMounts: Buffer[] = [];
  for (const write of writes) {
    if (write.rel.equals(ROOT_REL)) continue;
    const target = joinPath(live, write.rel);
    // Synchronous calls in slices, as the walks make them: thousands of renames of small files.
    await breathe();
    const current = lstatOrUndefined(host, target);
    try {
      if (write.type === 'dir') {
        // Created private; its owner, mode, labels and times come with the metadata pass.
        if (current && !current.isDirectory()) await host.fs.rm(target, { force: true });
        if (!current?.isDirectory()) await host.fs.mkdir(target, { mode: 0o700 });
        continue;
      }
      // Only now that its replacement is staged and checked does a directory in the way go.
      if (current?.isDirectory()) await host.fs.rm(target, { recursive: true, force: true });
      host.fs.sync.renameSync(staged(write)!, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EXDEV') {
        acrossMounts.push(write.rel);
        continue;
      }
      throw new RecoveryError('failure', `cannot put ${displayPath(target)} in place: ${(error as Error).message}`);
    }
  }
  if (acrossMounts.length > 0) {
    // Straight from the backup (checked before staging); rsync still writes each file under a
    // temporary name and renames it, so a kill leaves old or new content, never a mix.
    await rsyncList(host, {
      flags: ['-aAXHS'],
      from: input.backupTree,
      to: input.liveTree,
      paths: acrossMounts,
      what: `copying into place what lies on another mount in ${component} (${input.liveTree})`,
    });
  }
  return acrossMounts.length;
}

/**
 * Deletes the live entries the backup does not have, the deepest first: a file or link with one
 * call (synchronous, in slices, as the renames), a directory with all it holds.
 */
export async function removeEntries(host: Host, input: TreePlanInput, removals: readonly Buffer[]): Promise<void> {
  const live = Buffer.from(input.liveTree);
  for (let i = removals.length - 1; i >= 0; i--) {
    const target = joinPath(live, removals[i]!);
    await breathe();
    try {
      try {
        host.fs.sync.unlinkSync(target);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue;
        // A directory (EISDIR from Linux's unlink; EPERM where POSIX allows it instead).
        if (code !== 'EISDIR' && code !== 'EPERM') throw error;
        await host.fs.rm(target, { recursive: true, force: true });
      }
    } catch (error) {
      throw new RecoveryError('failure', `cannot delete ${displayPath(target)}: ${(error as Error).message}`);
    }
  }
}

/**
 * Sets owner, mode, xattrs, ACLs and nanosecond mtimes from the backup on the entries whose
 * metadata differs, on those whose xattrs the plan left to compare here, on every directory whose
 * content changed, and on the tree root (the staging dir came and went there). `--size-only`: the content is already right and must not be copied
 * again unchecked; `--existing`: nothing is created here. Without -H: links are final by now, and
 * this pass must neither make nor break one. Last, once nothing else changes in the tree: a
 * directory's mtime set before a change inside it would be moved again.
 */
export async function fixMetadata(host: Host, input: TreePlanInput, plan: TreePlan, component: string): Promise<number> {
  const byKey = new Map<string, Buffer>();
  for (const rel of [ROOT_REL, ...plan.metadata, ...plan.xattrsToCompare, ...plan.touchedDirs]) byKey.set(rel.toString('latin1'), rel);
  const rels = [...byKey.values()].sort(compareWalkOrder);
  await rsyncList(host, {
    flags: ['-aAX', '--size-only', '--existing'],
    from: input.backupTree,
    to: input.liveTree,
    paths: rels,
    what: `setting owners, modes, labels and times in ${component} (${input.liveTree})`,
  });
  return rels.length;
}

function lstatOrUndefined(host: Host, target: Buffer) {
  try {
    return host.fs.sync.lstatSync(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RecoveryError('failure', `cannot stat ${displayPath(target)}: ${(error as Error).message}`);
  }
}
