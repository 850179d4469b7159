// Decides what it takes to make a live tree identical to its backup, in one pass: the manifest and
// a walk of the live tree are both in walk order and are merged like two sorted lists (as
// src/manifest/verifyTree.ts does). Only what changes is kept in memory. The backup copy is not
// read here at all; live files are hashed when their metadata cannot vouch for their content.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import type { EntryType, ManifestEntry, ManifestEntryKeys } from '../manifest/schema.js';
import { RecoveryError } from '../core/errors.js';
import { entryPath, readManifestKeys, wholeEntry } from '../manifest/reader.js';
import { hashMany } from '../tree/hashMany.js';
import { readXattrs } from '../tree/xattrs.js';
import { compareWalkOrder, ROOT_REL } from '../tree/walk.js';
import { afterHash, afterXattrs, compareEntry, Exclusions, kindOf, parentOf, untouchedSinceBackup, xattrsDecide, type LiveFacts, type Verdict } from './treeCompare.js';
import { LinkGroups, readLinkGroupSizes, type LinkGroupMember, type SettledGroup } from './treeLinkGroups.js';
import { isStagingPath, STAGING_NAME } from './treeStaging.js';
import { isUntouchedLine } from './untouchedLine.js';
import { LiveWalk, walksInOtherThread, type LiveEntry, type LiveStat } from './treeWalk.js';
import { ownCopy } from '../tree/pathBytes.js';

export { describePlan } from './treePlanText.js';

export interface TreePlanInput {
  /** The backup's copy of the tree (`<generation>/<tree>`). */
  backupTree: string;
  /** Its manifest (`<generation>/manifests/<tree>.jsonl`). */
  manifest: string;
  /** The live tree to make identical to the copy. */
  liveTree: string;
  /** Paths relative to the tree root left exactly alone, with all below them ('kubernetes/manifests'). */
  excluded: readonly string[];
  /** About how many entries the tree has (its manifest's count): a big one is walked by another thread. */
  expectedEntries?: number;
  /**
   * The digest of the manifest's lines, when verify checked it whole earlier in this process: the
   * plan then settles the lines of untouched entries from their bytes, unparsed (isUntouchedLine),
   * and fails if the lines no longer hash to it.
   */
  checkedDigest?: string;
}

export interface PlannedWrite {
  rel: Buffer;
  /** What the backup has there; a directory is created, never replaced. */
  type: EntryType;
  size: number;
  /** What the copy must hash to; set on one name per inode (the others are the same inode). */
  sha256?: string;
  /** Why, in a few words, for --dry-run. */
  reason: string;
  /**
   * Where its manifest line is (a byte offset): the staging reads the owner, mode, times, xattrs
   * and link target there when it writes the entry (ManifestLines.at), instead of the plan holding
   * them for every entry to write; only those a restore step hands on as it plans (onWrite) are
   * used as they are, while tar keeps up (treeStager.ts).
   */
  line: number;
  /** The hard-link group of the backup it is a name of: staged as one inode with the group's other names. */
  group?: string;
}

export interface TreePlan {
  /** Entries to bring from the backup (new, or content or type changed), in walk order. */
  writes: PlannedWrite[];
  /** Entries whose content is right and whose owner, mode, mtime, xattrs or ACLs are not. */
  metadata: Buffer[];
  /**
   * Entries equal to the backup's but for xattrs and ACLs the plan did not read (see
   * PlanOptions.xattrsInMetadataPass): the metadata pass compares them and sets what differs.
   */
  xattrsToCompare: Buffer[];
  /** Live entries that the backup does not have, in walk order; a directory goes with all it holds. */
  removals: Buffer[];
  /** Directories whose entries change or that are created: their metadata is set last. */
  touchedDirs: Buffer[];
  /** Live entries left unlike the backup because an excluded path lies inside them. */
  blocked: Buffer[];
  /** A killed apply left its staging dir; the apply removes it first. */
  staleStaging: boolean;
  /** The tree root's mtime in the backup, set again once the staging dir is gone. */
  rootMtimeNs: string;
  /** Entries in the manifest. */
  entries: number;
  /** Bytes of file content to copy from the backup. */
  bytes: number;
}

export function isEmptyPlan(plan: TreePlan): boolean {
  return !plan.staleStaging && plan.writes.length + plan.metadata.length + plan.xattrsToCompare.length + plan.removals.length + plan.touchedDirs.length === 0;
}

/**
 * `onWrite` is told of each write as soon as it is decided (in no particular order; the plan's
 * list is sorted at the end), with its manifest entry as the plan read it: staging can start while
 * the plan is still made. What it throws stops the plan.
 */
export async function planTreeRestore(
  host: Host,
  input: TreePlanInput,
  onProgress?: (delta: { files: number; bytes: number }) => void,
  onWrite?: (write: PlannedWrite, recorded: ManifestEntry) => void,
  options: PlanOptions = {},
): Promise<TreePlan> {
  const groupSizes = await readLinkGroupSizes(host.fs, input.manifest);
  return new TreePlanner(host, input, groupSizes, onProgress, onWrite, options).run();
}

export interface PlanOptions {
  /**
   * A restore that applies its plan leaves the xattrs and ACLs of entries otherwise equal to the
   * backup's to the metadata pass (rsync compares them there, and sets only what differs) instead
   * of reading them here: a getfattr process per batch cost the bench's /etc about 20 ms each,
   * nine times. A plan only shown (--dry-run) reads them, to list exactly what differs.
   */
  xattrsInMetadataPass?: boolean;
}

/**
 * At most this many entries are left to the metadata pass (PlanOptions.xattrsInMetadataPass);
 * past it they are read by getfattr again: a list of every entry of a tree whose ctimes all
 * moved (a chown -R, say) would cost a million-entry tree its memory.
 */
const MAX_XATTRS_TO_COMPARE = 20_000;

/**
 * Entries the identity index cannot vouch for are compared this many at a time (with one getfattr
 * call each time where the plan reads xattrs). Each holds its walk entry (lstat's BigInts, its
 * paths) until then: 2,048 of them lived long enough to reach the old generation, and a
 * million-entry restore peaked 11 MB higher.
 */
const PAIRS_BATCH = 256;

interface Pair {
  rel: Buffer;
  recorded: ManifestEntry;
  line: number;
  live: LiveEntry;
  group: string | undefined;
}


/** A name of a hard-link group that the restore leaves alone (excluded, or kept as a blocked directory). */
function leftAlone(rel: Buffer, recorded: ManifestEntry, line: number): LinkGroupMember {
  return { rel, recorded, line, excluded: true, write: false, verdict: { action: 'none' } };
}

class TreePlanner {
  private readonly exclusions: Exclusions;
  private readonly groups: LinkGroups;
  private readonly walk: LiveWalk;
  private live: LiveEntry | undefined;
  /** Matched entries waiting for one getfattr call over the batch. */
  private pairs: Pair[] = [];
  private readonly plan: TreePlan = {
    writes: [],
    metadata: [],
    xattrsToCompare: [],
    removals: [],
    touchedDirs: [],
    blocked: [],
    staleStaging: false,
    rootMtimeNs: '',
    entries: 0,
    bytes: 0,
  };
  private readonly touched = new Map<string, Buffer>();

  constructor(
    private readonly host: Host,
    private readonly input: TreePlanInput,
    groupSizes: Map<string, number>,
    private readonly onProgress?: (delta: { files: number; bytes: number }) => void,
    private readonly onWrite?: (write: PlannedWrite, recorded: ManifestEntry) => void,
    private readonly options: PlanOptions = {},
  ) {
    this.exclusions = new Exclusions(input.excluded);
    this.groups = new LinkGroups(groupSizes, input.manifest);
    // Neither an excluded path nor our staging dir is walked (a killed apply's is removed first).
    const ignored = [...this.exclusions.paths, Buffer.from(STAGING_NAME)];
    this.walk = new LiveWalk(host.fs, input.liveTree, ignored, walksInOtherThread(input.expectedEntries ?? 0));
  }

  async run(): Promise<TreePlan> {
    try {
      this.plan.staleStaging = this.host.fs.sync.lstatSync(path.join(this.input.liveTree, STAGING_NAME), { throwIfNoEntry: false }) !== undefined;
      this.live = await this.walk.next();
      if (this.live && this.live.stat.type !== 'dir') throw new RecoveryError('failure', `${this.input.liveTree} is not a directory`);
      const { checkedDigest } = this.input;
      const byBytes = checkedDigest ? { checkedDigest, settle: (line: Buffer) => this.settleUntouched(line) } : undefined;
      await readManifestKeys(this.host.fs, this.input.manifest, (keys, line) => this.onRecorded(keys, line), byBytes);
      while (this.live) await this.liveOnly();
    } finally {
      await this.walk.close();
    }
    await this.settlePairs();
    for (const group of this.groups.leftovers()) this.recordGroup(group);
    return this.finish();
  }

  /**
   * One manifest line, checked for its keys only (readManifestKeys): an entry found untouched needs
   * nothing more, any other is checked whole before it is compared or written. Synchronous unless
   * it waits (for the walk's next batch, or hashes): most lines are untouched entries, and a promise
   * each cost more than their comparison.
   */
  private onRecorded(keys: ManifestEntryKeys, line: number): Promise<void> | undefined {
    this.plan.entries += 1;
    const rel = entryPath(keys);
    if (rel.equals(ROOT_REL)) this.plan.rootMtimeNs = keys.mtimeNs;
    // Only a backup taken during a killed restore could hold it; it is never restored into place.
    if (isStagingPath(rel)) return undefined;
    const group = this.groups.groupOf(keys, rel);
    // A name of a hard-link group is settled with the others, on all its fields.
    const grouped = group !== undefined ? this.whole(keys) : undefined;
    if (this.exclusions.covers(rel)) {
      if (group) this.addToGroup(group, leftAlone(rel, grouped!, line));
      return undefined;
    }
    if (this.live && compareWalkOrder(this.live.rel, rel) < 0) return this.liveOnlyBefore(rel).then(() => this.matchRecorded(keys, rel, line, group, grouped));
    return this.matchRecorded(keys, rel, line, group, grouped);
  }

  /** A line of the entry the walk stands on, if it is found untouched from its bytes alone: nothing to do but walk on. */
  private settleUntouched(line: Buffer): Promise<void> | undefined | false {
    const live = this.live;
    if (!live || !isUntouchedLine(line, live)) return false;
    this.plan.entries += 1;
    return this.walkOn();
  }

  /** A manifest line with the walk at or past its path. */
  private matchRecorded(keys: ManifestEntryKeys, rel: Buffer, line: number, group: string | undefined, grouped: ManifestEntry | undefined): Promise<void> | undefined {
    if (!this.live || compareWalkOrder(this.live.rel, rel) > 0) {
      this.decide(rel, grouped ?? this.whole(keys), line, group, { action: 'write', reason: 'missing' });
      return undefined;
    }
    const live = this.live;
    const replacesDir = live.stat.type === 'dir' && kindOf(keys.type) !== 'dir';
    if (replacesDir && this.exclusions.holdsExcluded(rel)) {
      // Writing the backup's file here would delete an excluded path: like rsync, keep the directory.
      this.plan.blocked.push(ownCopy(rel));
      if (group) this.addToGroup(group, leftAlone(rel, grouped!, line));
      return this.walkOn();
    }
    if (untouchedSinceBackup(keys, live.stat, { grouped: group !== undefined })) {
      // Neither getfattr nor a hash: nothing about it has changed since the backup copied it.
      if (group) this.decide(rel, grouped!, line, group, { action: 'none' }, live.stat);
      return this.walkOn();
    }
    this.pairs.push({ rel, recorded: grouped ?? this.whole(keys), line, live, group });
    // A directory replaced by a file goes whole: nothing inside it needs a look.
    const walked = this.walkOn(replacesDir);
    if (this.pairs.length < PAIRS_BATCH) return walked;
    return walked ? walked.then(() => this.settlePairs()) : this.settlePairs();
  }

  /** Moves the walk to its next entry; a promise only when that has to wait. */
  private walkOn(skipInside = false): Promise<void> | undefined {
    const next = this.walk.next(skipInside);
    if (!(next instanceof Promise)) {
      this.live = next;
      return undefined;
    }
    return next.then((entry) => {
      this.live = entry;
    });
  }

  /** The live entries before `rel` in walk order: the backup has none of them. */
  private async liveOnlyBefore(rel: Buffer): Promise<void> {
    while (this.live && compareWalkOrder(this.live.rel, rel) < 0) await this.liveOnly();
  }

  private whole(keys: ManifestEntryKeys): ManifestEntry {
    return wholeEntry(this.input.manifest, keys);
  }

  /** A live entry the backup does not have. */
  private async liveOnly(): Promise<void> {
    const entry = this.live!;
    if (entry.stat.type === 'dir' && this.exclusions.holdsExcluded(entry.rel)) {
      // It cannot go without the excluded path inside it; what else it holds still goes.
      this.plan.blocked.push(ownCopy(entry.rel));
      await this.walkOn();
      return;
    }
    this.plan.removals.push(ownCopy(entry.rel));
    this.touch(parentOf(entry.rel));
    await this.walkOn(true);
  }

  /**
   * Compares a batch of matched entries: from lstat first, then hashes where metadata cannot tell,
   * then one getfattr call for the entries that nothing else told apart from the backup's.
   */
  private async settlePairs(): Promise<void> {
    const pairs = this.pairs;
    this.pairs = [];
    if (pairs.length === 0) return;
    const verdicts = pairs.map((p) => compareEntry(p.recorded, this.liveFacts(p.live), { grouped: p.group !== undefined }));
    await this.hashWhereNeeded(pairs, verdicts);
    const unsettled = verdicts.flatMap((v, i) => (xattrsDecide(v) ? [i] : []));
    if (this.options.xattrsInMetadataPass && this.plan.xattrsToCompare.length + unsettled.length <= MAX_XATTRS_TO_COMPARE) {
      for (const i of unsettled) verdicts[i] = { action: 'xattrs' };
    } else if (unsettled.length > 0) {
      const xattrs = await readXattrs(this.host.fs, this.host.runner, unsettled.map((i) => pairs[i]!.live.abs));
      unsettled.forEach((i, k) => (verdicts[i] = afterXattrs(pairs[i]!.recorded, xattrs[k] ?? {})));
    }
    pairs.forEach((p, i) => this.decide(p.rel, p.recorded, p.line, p.group, verdicts[i]!, p.live.stat));
  }

  private async hashWhereNeeded(pairs: Pair[], verdicts: Verdict[]): Promise<void> {
    const todo = verdicts.flatMap((v, i) => (v.action === 'hash' ? [i] : []));
    await hashMany(
      this.host.fs,
      todo.map((i) => pairs[i]!.live.abs),
      (n, sha256) => {
        const i = todo[n]!;
        verdicts[i] = afterHash(verdicts[i] as Extract<Verdict, { action: 'hash' }>, pairs[i]!.recorded, sha256);
      },
      this.onProgress,
    );
  }

  /** What lstat and readlink tell of a live entry; its xattrs are read later, where they decide. */
  private liveFacts(entry: LiveEntry): LiveFacts {
    const { type, mode, uid, gid, size, mtimeNs, nlink, rdev, identity } = entry.stat;
    return {
      type,
      mode,
      uid,
      gid,
      size,
      mtimeNs,
      nlink,
      rdev,
      identity,
      ...(type === 'symlink' ? { target: this.host.fs.sync.readlinkSync(entry.abs, { encoding: 'buffer' }) } : {}),
    };
  }

  private decide(rel: Buffer, recorded: ManifestEntry, line: number, group: string | undefined, verdict: Verdict, live?: LiveStat): void {
    if (!group) {
      this.record(rel, recorded, line, verdict, recorded.sha256);
      return;
    }
    this.addToGroup(group, {
      rel: ownCopy(rel),
      recorded,
      line,
      verdict,
      excluded: false,
      write: verdict.action === 'write',
      ...(live?.type === 'file' ? { inode: live.inode, nlink: live.nlink } : {}),
    });
  }

  private addToGroup(group: string, member: LinkGroupMember): void {
    const settled = this.groups.add(group, member);
    if (settled) this.recordGroup(settled);
  }

  /** A group is written whole, so that its names are one inode again, or each name is left to its own verdict. */
  private recordGroup(group: SettledGroup): void {
    let contentChecked = false;
    for (const member of group.members) {
      if (member.excluded) continue;
      if (!group.rewrite) {
        this.record(member.rel, member.recorded, member.line, member.verdict, undefined);
        continue;
      }
      const reason = member.verdict.action === 'write' ? member.verdict.reason : 'hard links restored';
      this.record(member.rel, member.recorded, member.line, { action: 'write', reason }, contentChecked ? undefined : group.sha256, group.key);
      contentChecked = true;
    }
  }

  private record(rel: Buffer, recorded: ManifestEntry, line: number, verdict: Verdict, sha256: string | undefined, group?: string): void {
    if (verdict.action === 'metadata') this.plan.metadata.push(ownCopy(rel));
    if (verdict.action === 'xattrs') this.plan.xattrsToCompare.push(ownCopy(rel));
    if (verdict.action !== 'write') return;
    const write: PlannedWrite = { rel: ownCopy(rel), type: recorded.type, size: recorded.size, reason: verdict.reason, line, ...(group !== undefined ? { group } : {}) };
    if (sha256 && kindOf(recorded.type) === 'file') {
      write.sha256 = sha256;
      this.plan.bytes += recorded.size;
    }
    this.plan.writes.push(write);
    this.onWrite?.(write, recorded);
    if (recorded.type === 'dir') this.touch(rel);
    if (!rel.equals(ROOT_REL)) this.touch(parentOf(rel));
  }

  private touch(dir: Buffer): void {
    const key = dir.toString('latin1');
    if (!this.touched.has(key)) this.touched.set(key, ownCopy(dir));
  }

  private finish(): TreePlan {
    const plan = this.plan;
    // describeTree always records the root; without it the root's mtime could not be set right.
    if (plan.rootMtimeNs === '') throw new RecoveryError('failure', `manifest ${this.input.manifest} has no line for the tree root`);
    // Group members are settled late, and may come after entries that follow them.
    plan.writes.sort((a, b) => compareWalkOrder(a.rel, b.rel));
    plan.metadata.sort(compareWalkOrder);
    plan.xattrsToCompare.sort(compareWalkOrder);
    for (const rel of plan.blocked) this.touched.delete(rel.toString('latin1'));
    plan.touchedDirs = [...this.touched.values()].sort(compareWalkOrder);
    return plan;
  }
}

