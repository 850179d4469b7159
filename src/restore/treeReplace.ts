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
 * The entries of the metadata pass, in two lists. `early`: those whose metadata differs, or whose
 * xattrs the plan left to compare, that are not directories. Nothing else in the apply writes,
 * moves or deletes them, so their pass runs while the staged files are checked and put in place
 * (rsync ends each call with 20 ms sleeps, and sets a thousand labels in a few hundred ms).
 * `late`: the directories among them, every directory whose content changed, and the tree root
 * (the staging dir came and went there): their mtimes are set once nothing else changes in the
 * tree, since a change inside a directory moves its mtime again.
 */
export function metadataPasses(host: Host, input: TreePlanInput, plan: TreePlan): { early: Buffer[]; late: Buffer[] } {
  const live = Buffer.from(input.liveTree);
  const early = new Map<string, Buffer>();
  const late = new Map<string, Buffer>();
  for (const rel of [...plan.metadata, ...plan.xattrsToCompare]) {
    const lateOne = rel.equals(ROOT_REL) || lstatOrUndefined(host, joinPath(live, rel))?.isDirectory() !== false;
    (lateOne ? late : early).set(rel.toString('latin1'), rel);
  }
  for (const rel of [ROOT_REL, ...plan.touchedDirs]) late.set(rel.toString('latin1'), rel);
  return { early: [...early.values()].sort(compareWalkOrder), late: [...late.values()].sort(compareWalkOrder) };
}

/**
 * Sets owner, mode, xattrs, ACLs and nanosecond mtimes from the backup on `rels` (a list from
 * metadataPasses). `--size-only`: the content is already right and must not be copied again
 * unchecked; `--existing`: nothing is created here. Without -H: this pass must neither make nor
 * break a link.
 */
export async function fixMetadata(host: Host, input: TreePlanInput, rels: readonly Buffer[], component: string): Promise<number> {
  if (rels.length === 0) return 0;
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
