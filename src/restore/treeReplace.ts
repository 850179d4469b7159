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
import type { Staging } from './treeStaging.js';

/**
 * Puts the staged entries in place, in walk order so that a directory exists before what it holds.
 * Returns the entries that had to be copied in place because a mount point lies between the
 * staging dir and them (rename cannot cross filesystems).
 */
export async function replaceEntries(host: Host, input: TreePlanInput, writes: readonly PlannedWrite[], staging: Staging, component: string): Promise<number> {
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
      host.fs.sync.renameSync(staging.staged(write.rel), target);
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
      list: await staging.writeList('in-place', acrossMounts),
      what: `copying into place what lies on another mount in ${component} (${input.liveTree})`,
    });
  }
  return acrossMounts.length;
}

/** Deletes the live entries the backup does not have, the deepest first. */
export async function removeEntries(host: Host, input: TreePlanInput, removals: readonly Buffer[]): Promise<void> {
  const live = Buffer.from(input.liveTree);
  for (let i = removals.length - 1; i >= 0; i--) {
    const target = joinPath(live, removals[i]!);
    try {
      await host.fs.rm(target, { recursive: true, force: true });
    } catch (error) {
      throw new RecoveryError('failure', `cannot delete ${displayPath(target)}: ${(error as Error).message}`);
    }
  }
}

/**
 * Sets owner, mode, xattrs, ACLs and nanosecond mtimes from the backup on the entries whose
 * metadata differs and on every directory whose content changed. `--size-only`: the content is
 * already right and must not be copied again unchecked; `--existing`: nothing is created here.
 * Without -H: links are final by now, and this pass must neither make nor break one.
 */
export async function fixMetadata(host: Host, input: TreePlanInput, plan: TreePlan, staging: Staging, component: string): Promise<number> {
  const byKey = new Map<string, Buffer>();
  for (const rel of [...plan.metadata, ...plan.touchedDirs]) byKey.set(rel.toString('latin1'), rel);
  const rels = [...byKey.values()].sort(compareWalkOrder);
  if (rels.length === 0) return 0;
  await rsyncList(host, {
    flags: ['-aAX', '--size-only', '--existing'],
    from: input.backupTree,
    to: input.liveTree,
    list: await staging.writeList('metadata', rels),
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
