// The last metadata pass of a tree restore (metadataPasses' `late` list: the tree root and the
// directories whose entries changed): owner, mode, nanosecond mtime, labels and ACLs as the backup's
// copy of each has them. rsync sets them exactly, but every call ends with two 20 ms sleeps (its
// processes wait for each other by polling), paid at the very end of each tree's step. tar sets the
// same on an existing directory with no wait: one archive of directory members, extracted onto the
// tree. tar only sets xattrs, it never takes one away, so it is used only where no live directory
// has an xattr (a label, an ACL, a user.* name) that its backup copy lacks; rsync does the rest.
import type { BigIntStats } from 'node:fs';
import type { Host } from '../host/ports.js';
import { joinPath } from '../tree/pathBytes.js';
import { endOfArchive, memberHeader, paxXattrs } from '../tree/paxArchive.js';
import { readXattrs } from '../tree/xattrs.js';
import type { TreePlanInput } from './treePlan.js';
import { fixMetadata } from './treeReplace.js';
import { runTarExtract, throwIfTarFailed } from './treeStageArchive.js';

/**
 * Directories set through one archive at most: their headers and getfattr's answer are held in
 * memory (about 2 KB a directory, at the end of a step whose plan is still held); more, in a big
 * restore, go to rsync, whose 40 ms then hardly count.
 */
export const MAX_ARCHIVED_DIRS = 1024;

/** Sets the metadata of `rels` (directories, the root among them) from the backup; returns how many. */
export async function fixDirectoryMetadata(host: Host, input: TreePlanInput, rels: readonly Buffer[], component: string): Promise<number> {
  if (rels.length === 0) return 0;
  const archive = rels.length <= MAX_ARCHIVED_DIRS ? await directoryArchive(host, input, rels) : undefined;
  if (!archive) return fixMetadata(host, input, rels, component);
  const run = await runTarExtract(host, input.liveTree, archive);
  throwIfTarFailed(run, `setting owners, modes, labels and times of the directories of ${component} (${input.liveTree})`);
  return rels.length;
}

/**
 * An archive that makes each live directory of `rels` what its backup copy is, or undefined when
 * tar could not: an entry is not a directory on both sides, or a live one has an xattr to remove.
 */
async function directoryArchive(host: Host, input: TreePlanInput, rels: readonly Buffer[]): Promise<Buffer[] | undefined> {
  const backup = Buffer.from(input.backupTree);
  const live = Buffer.from(input.liveTree);
  const copies: BigIntStats[] = [];
  for (const rel of rels) {
    const copy = directoryStat(host, joinPath(backup, rel));
    if (!copy || !directoryStat(host, joinPath(live, rel))) return undefined;
    copies.push(copy);
  }
  // One getfattr call for both sides (it batches by argument size).
  const xattrs = await readXattrs(host.fs, host.runner, [...rels.map((rel) => joinPath(backup, rel)), ...rels.map((rel) => joinPath(live, rel))]);
  const wanted = xattrs.slice(0, rels.length);
  const present = xattrs.slice(rels.length);
  if (present.some((names, i) => Object.keys(names).some((name) => !(name in wanted[i]!)))) return undefined;
  const headers = rels.map((rel, i) =>
    memberHeader({
      name: rel,
      type: 'dir',
      mode: Number(copies[i]!.mode) & 0o7777,
      uid: Number(copies[i]!.uid),
      gid: Number(copies[i]!.gid),
      size: 0,
      mtimeNs: copies[i]!.mtimeNs,
      xattrs: paxXattrs(wanted[i]),
    }),
  );
  return [...headers, endOfArchive()];
}

/** lstat of a directory; undefined for anything else, or anything lstat cannot tell (rsync then says what is wrong). */
function directoryStat(host: Host, target: Buffer): BigIntStats | undefined {
  try {
    const stat = host.fs.sync.lstatSync(target, { bigint: true, throwIfNoEntry: false });
    return stat?.isDirectory() ? stat : undefined;
  } catch {
    return undefined;
  }
}
